import type { Knex } from 'knex';

/**
 * Support replay (issue 13): replays with their state, progress and diff, the date-range locks
 * that keep a replay and the scheduler's transform off the same partitions at the same time, and
 * the dead letters a redrive has already sent back.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('replays', (t) => {
    t.string('id').primary();
    t.string('organization_id').notNullable();
    t.bigInteger('property_id').notNullable();
    t.date('from_date').notNullable();
    t.date('to_date').notNullable();
    t.boolean('dry_run').notNullable();
    t.text('reason').notNullable();
    t.string('actor_kind').notNullable();
    t.string('actor_user_id');
    t.enu('state', ['queued', 'running', 'succeeded', 'failed']).notNullable();
    t.integer('partitions_done').notNullable().defaultTo(0);
    t.integer('partitions_total').notNullable().defaultTo(0);
    t.jsonb('settings');
    t.jsonb('diff');
    t.text('error');
    t.bigInteger('events').notNullable().defaultTo(0);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('started_at', { useTz: true });
    t.timestamp('finished_at', { useTz: true });
    t.index(['property_id', 'created_at']);
  });

  // One row per held lock: a property's local dates from_date..to_date (inclusive); a holder that
  // dies leaves a row that expires (holders renew theirs while they work).
  await knex.schema.createTable('partition_locks', (t) => {
    t.bigIncrements('id').primary();
    t.bigInteger('property_id').notNullable();
    t.date('from_date').notNullable();
    t.date('to_date').notNullable();
    t.string('holder').notNullable();
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.index(['property_id']);
  });

  // Dead letters already sent back into the event log (by their letter id, a hash of the kept
  // record): a second redrive appends nothing (the transform's dedup by event id would drop it anyway).
  await knex.schema.createTable('redriven_letters', (t) => {
    t.bigInteger('property_id').notNullable();
    t.string('letter_id', 64).notNullable();
    t.string('event_id').notNullable();
    t.timestamp('redriven_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['property_id', 'letter_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('redriven_letters');
  await knex.schema.dropTable('partition_locks');
  await knex.schema.dropTable('replays');
}
