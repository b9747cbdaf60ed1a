/**
 * Baseline for the benchmark: bare Fastify 5 and `pg` answering a primary-key select, the
 * least work any authenticated request can do. Started as a child process by run.ts.
 */
import Fastify from 'fastify';
import pg from 'pg';

const url = process.env.DATABASE_URL;
const port = Number(process.env.PORT ?? 3999);
if (!url) throw new Error('DATABASE_URL is required');

const pool = new pg.Pool({ connectionString: url, max: Number(process.env.POOL_SIZE ?? 10) });
const app = Fastify({ logger: false });

app.get<{ Params: { id: string } }>('/users/:id', async (request, reply) => {
  const { rows } = await pool.query({
    name: 'user-by-id',
    text: 'SELECT id, email, username, first_name, last_name, role, active, email_verified, created_at, updated_at, last_login_at FROM users WHERE id = $1',
    values: [request.params.id],
  });
  if (!rows[0]) return reply.code(404).send({ error: 'not found' });
  return rows[0] as unknown;
});

await app.listen({ port, host: '127.0.0.1' });
process.send?.('ready');
process.on('SIGTERM', () => {
  void app
    .close()
    .then(() => pool.end())
    .then(() => process.exit(0));
});
