import type { Knex } from 'knex';

/**
 * The "complete up to" of reports: the start of the last pipeline run (archive, transform, load)
 * after which nothing of the property was left pending. Set by PipelineStateRepository.markComplete.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('pipeline_state', (t) => {
    t.timestamp('complete_up_to', { useTz: true });
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('pipeline_state', (t) => {
    t.dropColumn('complete_up_to');
  });
}
