import type { EntityManager, EntityTarget, ObjectLiteral } from 'typeorm';

/**
 * Deletes up to `batch` rows of `entity` that match `condition` (SQL over the alias `r`,
 * with named parameters), in one statement, and answers how many. The rows are picked
 * `FOR UPDATE SKIP LOCKED`: cleaners running at the same time take disjoint batches, never
 * wait for each other nor for a request that holds a row, and no row is deleted twice.
 * Unlike an advisory lock this needs no session state, so it holds on PostgreSQL and on the
 * embedded PGlite (one backend behind a TCP bridge). For the retention cleanup, through
 * the repository that owns each table.
 */
export async function deleteBatch<T extends ObjectLiteral>(
  db: EntityManager,
  entity: EntityTarget<T>,
  key: string,
  condition: string,
  parameters: Record<string, unknown>,
  batch: number,
): Promise<number> {
  const old = db
    .getRepository(entity)
    .createQueryBuilder('r')
    .select(`r.${key}`)
    .where(condition)
    .limit(batch)
    .setLock('pessimistic_write')
    .setOnLocked('skip_locked');
  const column = db.getRepository(entity).metadata.findColumnWithPropertyName(key)!.databaseName;
  const result = await db
    .createQueryBuilder()
    .delete()
    .from(entity)
    .where(`${column} = ANY (ARRAY(${old.getQuery()}))`)
    .setParameters(parameters)
    .execute();
  return result.affected ?? 0;
}
