import type { Knex } from 'knex';
import * as m001 from './20261126000000_initial.js';
import * as m002 from './20261126070000_complete_up_to.js';
import * as m003 from './20261205110000_property_public_ids.js';
import * as m130 from './20261205130000_accounts.js';
import * as m100 from './20261206100000_billing.js';
import * as m1100 from './20261206110000_support_replay.js';
import * as m1201 from './20261206120000_lifecycle.js';
import * as m7100 from './20261207100000_plan_changes.js';
import * as m8100 from './20261208100000_custom_definitions.js';
import * as m120 from './20261208120000_retroactive_rules.js';
import * as m9130 from './20261209130000_fx_rates_refresh.js';

/**
 * Migrations are listed here rather than discovered from the folder so they load the same way
 * under tsx, vitest and a compiled build. Append new ones; never edit one that has shipped.
 */
const migrations: Record<string, Knex.Migration> = {
  '20261126000000_initial': m001,
  '20261126070000_complete_up_to': m002,
  '20261205110000_property_public_ids': m003,
  '20261205130000_accounts': m130,
  '20261206100000_billing': m100,
  '20261206110000_support_replay': m1100,
  '20261206120000_lifecycle': m1201,
  '20261207100000_plan_changes': m7100,
  '20261208100000_custom_definitions': m8100,
  '20261208120000_retroactive_rules': m120,
  '20261209130000_fx_rates_refresh': m9130,
};

export const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(migrations).sort(),
  getMigrationName: (name) => name,
  getMigration: async (name) => migrations[name]!,
};
