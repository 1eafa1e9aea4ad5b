import type { Knex } from 'knex';

/**
 * The warehouse's currency rates refresh (issue 14): one row, written by the `fx-rates` job after
 * it replaced the warehouse's `fx_rates`. The report result cache keys revenue statements on
 * `refreshed_at`, so every api process stops answering revenue converted at the old rates.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('fx_rates_refresh', (t) => {
    t.smallint('id').primary();
    t.timestamp('refreshed_at', { useTz: true }).notNullable();
    t.date('last_published');
    t.integer('rates').notNullable();
  });
  await knex.raw('ALTER TABLE fx_rates_refresh ADD CONSTRAINT fx_rates_refresh_one_row CHECK (id = 1)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('fx_rates_refresh');
}
