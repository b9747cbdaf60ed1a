import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';

/**
 * Reads one line from the terminal without echoing it: readline writes to an output that
 * swallows everything after the question.
 */
export function promptHidden(question: string): Promise<string> {
  process.stdout.write(question);
  let muted = false;
  const output = new Writable({
    write(chunk: Buffer, _encoding, done) {
      if (!muted) process.stdout.write(chunk);
      done();
    },
  });
  const rl = createInterface({ input: process.stdin, output, terminal: true });
  muted = true;
  return new Promise((resolve) => {
    rl.question('', (answer) => {
      rl.close();
      process.stdout.write('\n');
      resolve(answer);
    });
  });
}
