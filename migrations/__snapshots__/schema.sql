-- migrations: 20261126000000_initial, 20261126070000_complete_up_to, 20261205110000_property_public_ids, 20261205130000_accounts, 20261206100000_billing, 20261206110000_support_replay, 20261206120000_lifecycle, 20261207100000_plan_changes, 20261208100000_custom_definitions, 20261208120000_retroactive_rules, 20261209130000_fx_rates_refresh
column api_keys.id character varying(255) NOT NULL
column api_keys.organization_id character varying(255) NOT NULL
column api_keys.property_id bigint
column api_keys.scope text NOT NULL
column api_keys.name character varying(255) NOT NULL
column api_keys.prefix character varying(255) NOT NULL
column api_keys.hash character varying(255) NOT NULL
column api_keys.created_at timestamp with time zone NOT NULL DEFAULT CURRENT_TIMESTAMP
column api_keys.revoked_at timestamp with time zone
column api_keys.last_used_at timestamp with time zone
column api_keys.expires_at timestamp with time zone
column api_keys.created_by character varying(255)
column app_secrets.name character varying(255) NOT NULL
column app_secrets.value text NOT NULL
column audit_log.id bigint NOT NULL DEFAULT nextval('audit_log_id_seq'::regclass)
column audit_log.organization_id character varying(255) NOT NULL
column audit_log.actor_user_id character varying(255)
column audit_log.actor_kind text NOT NULL
column audit_log.action character varying(255) NOT NULL
column audit_log.target_type character varying(255) NOT NULL
column audit_log.target_id character varying(255)
column audit_log.ip character varying(255)
column audit_log.before jsonb
column audit_log.after jsonb
column audit_log.reason text
column audit_log.created_at timestamp with time zone NOT NULL DEFAULT CURRENT_TIMESTAMP
column auth_tokens.token_hash character varying(255) NOT NULL
column auth_tokens.kind text NOT NULL
column auth_tokens.user_id character varying(255)
column auth_tokens.organization_id character varying(255)
column auth_tokens.email character varying(255) NOT NULL
column auth_tokens.role text
column auth_tokens.created_by character varying(255)
column auth_tokens.expires_at timestamp with time zone NOT NULL
column auth_tokens.used_at timestamp with time zone
column auth_tokens.created_at timestamp with time zone NOT NULL DEFAULT CURRENT_TIMESTAMP
column billing_accounts.organization_id character varying(255) NOT NULL
column billing_accounts.stripe_customer_id character varying(255)
column billing_accounts.stripe_subscription_id character varying(255)
column billing_accounts.status character varying(255) NOT NULL DEFAULT 'none'::character varying
column billing_accounts.subscription_plan_id character varying(255)
column billing_accounts.current_period_end timestamp with time zone
column billing_accounts.cancel_at_period_end boolean NOT NULL DEFAULT false
column billing_accounts.payment_failed_at timestamp with time zone
column billing_accounts.state_at bigint NOT NULL DEFAULT '0'::bigint
column billing_accounts.payment_state_at bigint NOT NULL DEFAULT '0'::bigint
column billing_accounts.updated_at timestamp with time zone NOT NULL DEFAULT CURRENT_TIMESTAMP
column billing_meter_reports.organization_id character varying(255) NOT NULL
column billing_meter_reports.hour timestamp with time zone NOT NULL
column billing_meter_reports.events bigint NOT NULL
column billing_meter_reports.identifier character varying(255) NOT NULL
column billing_meter_reports.sent_at timestamp with time zone NOT NULL DEFAULT CURRENT_TIMESTAMP
column billing_notices.organization_id character varying(255) NOT NULL
column billing_notices.month character varying(7) NOT NULL
column billing_notices.threshold character varying(255) NOT NULL
column billing_notices.sent_at timestamp with time zone NOT NULL DEFAULT CURRENT_TIMESTAMP
column billing_webhook_events.id character varying(255) NOT NULL
column billing_webhook_events.type character varying(255) NOT NULL
column billing_webhook_events.organization_id character varying(255)
column billing_webhook_events.outcome character varying(255) NOT NULL
column billing_webhook_events.received_at timestamp with time zone NOT NULL DEFAULT CURRENT_TIMESTAMP
column credential_version.id integer NOT NULL
column credential_version.version bigint NOT NULL
column custom_definitions.id character varying(36) NOT NULL
column custom_definitions.property_id bigint NOT NULL
column custom_definitions.kind character varying(16) NOT NULL
column custom_definitions.scope character varying(8) NOT NULL
column custom_definitions.parameter_name character varying(40) NOT NULL
column custom_definitions.display_name character varying(82) NOT NULL
column custom_definitions.description character varying(150) NOT NULL DEFAULT ''::character varying
column custom_definitions.measurement_unit character varying(16)
column custom_definitions.created_at timestamp with time zone NOT NULL DEFAULT CURRENT_TIMESTAMP
column custom_definitions.archived_at timestamp with time zone
column deletion_receipts.id character varying(64) NOT NULL
column deletion_receipts.organization_id character varying(255) NOT NULL
column deletion_receipts.property_id bigint NOT NULL
column deletion_receipts.subject_kind character varying(16) NOT NULL
column deletion_receipts.subject_hash character varying(64) NOT NULL
column deletion_receipts.reason character varying(500) NOT NULL
column deletion_receipts.requested_by character varying(255)
column deletion_receipts.state character varying(16) NOT NULL
column deletion_receipts.counts jsonb NOT NULL DEFAULT '{}'::jsonb
column deletion_receipts.error text
column deletion_receipts.created_at timestamp with time zone NOT NULL DEFAULT CURRENT_TIMESTAMP
column deletion_receipts.completed_at timestamp with time zone
column fx_rates_refresh.id smallint NOT NULL
column fx_rates_refresh.refreshed_at timestamp with time zone NOT NULL
column fx_rates_refresh.last_published date
column fx_rates_refresh.rates integer NOT NULL
column job_runs.id character varying(255) NOT NULL
column job_runs.name character varying(255) NOT NULL
column job_runs.tenant_id character varying(255)
column job_runs.property_id bigint
column job_runs.data jsonb NOT NULL
column job_runs.status text NOT NULL
column job_runs.result jsonb
column job_runs.error text
column job_runs.started_at timestamp with time zone NOT NULL
column job_runs.finished_at timestamp with time zone
column knex_migrations.id integer NOT NULL DEFAULT nextval('knex_migrations_id_seq'::regclass)
column knex_migrations.name character varying(255)
column knex_migrations.batch integer
column knex_migrations.migration_time timestamp with time zone
column knex_migrations_lock.index integer NOT NULL DEFAULT nextval('knex_migrations_lock_index_seq'::regclass)
column knex_migrations_lock.is_locked integer
column memberships.organization_id character varying(255) NOT NULL
column memberships.user_id character varying(255) NOT NULL
column memberships.role text NOT NULL
column memberships.created_at timestamp with time zone NOT NULL DEFAULT CURRENT_TIMESTAMP
column organizations.id character varying(255) NOT NULL
column organizations.name character varying(255) NOT NULL
column organizations.plan_id character varying(255) NOT NULL DEFAULT 'free'::character varying
column organizations.created_at timestamp with time zone NOT NULL DEFAULT CURRENT_TIMESTAMP
column partition_locks.id bigint NOT NULL DEFAULT nextval('partition_locks_id_seq'::regclass)
column partition_locks.property_id bigint NOT NULL
column partition_locks.from_date date NOT NULL
column partition_locks.to_date date NOT NULL
column partition_locks.holder character varying(255) NOT NULL
column partition_locks.expires_at timestamp with time zone NOT NULL
column partitions.tenant_id character varying(255) NOT NULL
column partitions.property_id bigint NOT NULL
column partitions.table_name character varying(255) NOT NULL
column partitions.dt date NOT NULL
column partitions.object_keys jsonb NOT NULL
column partitions.rows bigint NOT NULL
column partitions.transformed_at timestamp with time zone NOT NULL
column partitions.loaded_at timestamp with time zone
column partitions.loaded_rows bigint
column pipeline_state.property_id bigint NOT NULL
column pipeline_state.tenant_id character varying(255) NOT NULL
column pipeline_state.transformed_seq bigint NOT NULL DEFAULT '0'::bigint
column pipeline_state.updated_at timestamp with time zone NOT NULL DEFAULT CURRENT_TIMESTAMP
column pipeline_state.complete_up_to timestamp with time zone
column plan_changes.id bigint NOT NULL DEFAULT nextval('plan_changes_id_seq'::regclass)
column plan_changes.organization_id character varying(255) NOT NULL
column plan_changes.from_plan_id character varying(255) NOT NULL
column plan_changes.to_plan_id character varying(255) NOT NULL
column plan_changes.changed_at timestamp with time zone NOT NULL DEFAULT CURRENT_TIMESTAMP
column plan_changes.handled_at timestamp with time zone
column plans.id character varying(255) NOT NULL
column plans.name character varying(255)
column plans.monthly_event_quota bigint
column plans.rate_limit_per_second integer
column plans.max_properties integer
column plans.price_cents integer NOT NULL DEFAULT 0
column plans.stripe_price_id character varying(255)
column plans.rate_burst integer NOT NULL DEFAULT 0
column plans.stripe_product_id character varying(255)
column plans.stripe_overage_price_id character varying(255)
column properties.id bigint NOT NULL DEFAULT nextval('property_id_seq'::regclass)
column properties.organization_id character varying(255) NOT NULL
column properties.name character varying(255) NOT NULL
column properties.domain character varying(255) NOT NULL
column properties.measurement_id character varying(255) NOT NULL
column properties.time_zone character varying(255) NOT NULL DEFAULT 'UTC'::character varying
column properties.currency_code character varying(3) NOT NULL DEFAULT 'USD'::character varying
column properties.session_timeout_minutes integer NOT NULL DEFAULT 30
column properties.engaged_session_seconds integer NOT NULL DEFAULT 10
column properties.key_events jsonb NOT NULL DEFAULT '["purchase"]'::jsonb
column properties.created_at timestamp with time zone NOT NULL DEFAULT CURRENT_TIMESTAMP
column properties.site_id character varying(64) NOT NULL DEFAULT (gen_random_uuid())::text
column properties.allowed_hostnames jsonb NOT NULL DEFAULT '[]'::jsonb
column properties.internal_traffic jsonb NOT NULL DEFAULT '{"rules": [], "filter": "active"}'::jsonb
column properties.bot_patterns jsonb NOT NULL DEFAULT '[]'::jsonb
column properties.channel_rules jsonb
column property_retention.property_id bigint NOT NULL
column property_retention.raw_days integer
column property_retention.transformed_days integer
column property_retention.warehouse_days integer
column property_retention.dead_letter_days integer
column property_retention.updated_at timestamp with time zone NOT NULL DEFAULT CURRENT_TIMESTAMP
column raw_objects.key character varying(255) NOT NULL
column raw_objects.tenant_id character varying(255) NOT NULL
column raw_objects.property_id bigint NOT NULL
column raw_objects.records integer NOT NULL
column raw_objects.min_event_ms bigint NOT NULL
column raw_objects.max_event_ms bigint NOT NULL
column raw_objects.seq bigint NOT NULL
column raw_objects.archived_at timestamp with time zone NOT NULL DEFAULT CURRENT_TIMESTAMP
column redriven_letters.property_id bigint NOT NULL
column redriven_letters.letter_id character varying(64) NOT NULL
column redriven_letters.event_id character varying(255) NOT NULL
column redriven_letters.redriven_at timestamp with time zone NOT NULL DEFAULT CURRENT_TIMESTAMP
column replays.id character varying(255) NOT NULL
column replays.organization_id character varying(255) NOT NULL
column replays.property_id bigint NOT NULL
column replays.from_date date NOT NULL
column replays.to_date date NOT NULL
column replays.dry_run boolean NOT NULL
column replays.reason text NOT NULL
column replays.actor_kind character varying(255) NOT NULL
column replays.actor_user_id character varying(255)
column replays.state text NOT NULL
column replays.partitions_done integer NOT NULL DEFAULT 0
column replays.partitions_total integer NOT NULL DEFAULT 0
column replays.settings jsonb
column replays.diff jsonb
column replays.error text
column replays.events bigint NOT NULL DEFAULT '0'::bigint
column replays.created_at timestamp with time zone NOT NULL DEFAULT CURRENT_TIMESTAMP
column replays.started_at timestamp with time zone
column replays.finished_at timestamp with time zone
column sessions.sid character varying(255) NOT NULL
column sessions.user_id character varying(255)
column sessions.sess jsonb NOT NULL
column sessions.expires_at timestamp with time zone NOT NULL
column usage_hourly.tenant_id character varying(255) NOT NULL
column usage_hourly.property_id bigint NOT NULL
column usage_hourly.hour timestamp with time zone NOT NULL
column usage_hourly.events bigint NOT NULL DEFAULT '0'::bigint
column usage_hourly.dead_letters bigint NOT NULL DEFAULT '0'::bigint
column users.id character varying(255) NOT NULL
column users.email character varying(255) NOT NULL
column users.name character varying(255)
column users.password_hash character varying(255)
column users.is_staff boolean NOT NULL DEFAULT false
column users.created_at timestamp with time zone NOT NULL DEFAULT CURRENT_TIMESTAMP
column users.email_verified_at timestamp with time zone
column users.password_changed_at timestamp with time zone
constraint api_keys.api_keys_hash_unique UNIQUE (hash)
constraint api_keys.api_keys_organization_id_foreign FOREIGN KEY (organization_id) REFERENCES organizations(id) ON DELETE CASCADE
constraint api_keys.api_keys_pkey PRIMARY KEY (id)
constraint api_keys.api_keys_property_id_foreign FOREIGN KEY (property_id) REFERENCES properties(id) ON DELETE CASCADE
constraint api_keys.api_keys_scope_check CHECK ((scope = ANY (ARRAY['ingest'::text, 'read'::text, 'mp_secret'::text])))
constraint app_secrets.app_secrets_pkey PRIMARY KEY (name)
constraint audit_log.audit_log_actor_kind_check CHECK ((actor_kind = ANY (ARRAY['user'::text, 'staff'::text, 'operator'::text])))
constraint audit_log.audit_log_pkey PRIMARY KEY (id)
constraint auth_tokens.auth_tokens_kind_check CHECK ((kind = ANY (ARRAY['verify_email'::text, 'password_reset'::text, 'invitation'::text])))
constraint auth_tokens.auth_tokens_organization_id_foreign FOREIGN KEY (organization_id) REFERENCES organizations(id) ON DELETE CASCADE
constraint auth_tokens.auth_tokens_pkey PRIMARY KEY (token_hash)
constraint auth_tokens.auth_tokens_role_check CHECK ((role = ANY (ARRAY['owner'::text, 'admin'::text, 'editor'::text, 'viewer'::text])))
constraint auth_tokens.auth_tokens_user_id_foreign FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE
constraint billing_accounts.billing_accounts_organization_id_foreign FOREIGN KEY (organization_id) REFERENCES organizations(id) ON DELETE CASCADE
constraint billing_accounts.billing_accounts_pkey PRIMARY KEY (organization_id)
constraint billing_accounts.billing_accounts_stripe_customer_id_unique UNIQUE (stripe_customer_id)
constraint billing_meter_reports.billing_meter_reports_identifier_unique UNIQUE (identifier)
constraint billing_meter_reports.billing_meter_reports_pkey PRIMARY KEY (organization_id, hour)
constraint billing_notices.billing_notices_organization_id_foreign FOREIGN KEY (organization_id) REFERENCES organizations(id) ON DELETE CASCADE
constraint billing_notices.billing_notices_pkey PRIMARY KEY (organization_id, month, threshold)
constraint billing_webhook_events.billing_webhook_events_pkey PRIMARY KEY (id)
constraint credential_version.credential_version_pkey PRIMARY KEY (id)
constraint custom_definitions.custom_definitions_pkey PRIMARY KEY (id)
constraint custom_definitions.custom_definitions_property_id_foreign FOREIGN KEY (property_id) REFERENCES properties(id) ON DELETE CASCADE
constraint deletion_receipts.deletion_receipts_pkey PRIMARY KEY (id)
constraint deletion_receipts.deletion_receipts_property_id_foreign FOREIGN KEY (property_id) REFERENCES properties(id) ON DELETE CASCADE
constraint fx_rates_refresh.fx_rates_refresh_one_row CHECK ((id = 1))
constraint fx_rates_refresh.fx_rates_refresh_pkey PRIMARY KEY (id)
constraint job_runs.job_runs_pkey PRIMARY KEY (id)
constraint job_runs.job_runs_status_check CHECK ((status = ANY (ARRAY['running'::text, 'succeeded'::text, 'failed'::text])))
constraint knex_migrations.knex_migrations_pkey PRIMARY KEY (id)
constraint knex_migrations_lock.knex_migrations_lock_pkey PRIMARY KEY (index)
constraint memberships.memberships_organization_id_foreign FOREIGN KEY (organization_id) REFERENCES organizations(id) ON DELETE CASCADE
constraint memberships.memberships_pkey PRIMARY KEY (organization_id, user_id)
constraint memberships.memberships_role_check CHECK ((role = ANY (ARRAY['owner'::text, 'admin'::text, 'editor'::text, 'viewer'::text])))
constraint memberships.memberships_user_id_foreign FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE
constraint organizations.organizations_pkey PRIMARY KEY (id)
constraint organizations.organizations_plan_id_foreign FOREIGN KEY (plan_id) REFERENCES plans(id)
constraint partition_locks.partition_locks_pkey PRIMARY KEY (id)
constraint partitions.partitions_pkey PRIMARY KEY (property_id, table_name, dt)
constraint pipeline_state.pipeline_state_pkey PRIMARY KEY (property_id)
constraint plan_changes.plan_changes_organization_id_foreign FOREIGN KEY (organization_id) REFERENCES organizations(id) ON DELETE CASCADE
constraint plan_changes.plan_changes_pkey PRIMARY KEY (id)
constraint plans.plans_pkey PRIMARY KEY (id)
constraint properties.properties_measurement_id_unique UNIQUE (measurement_id)
constraint properties.properties_organization_id_foreign FOREIGN KEY (organization_id) REFERENCES organizations(id) ON DELETE CASCADE
constraint properties.properties_pkey PRIMARY KEY (id)
constraint properties.properties_site_id_unique UNIQUE (site_id)
constraint property_retention.property_retention_pkey PRIMARY KEY (property_id)
constraint property_retention.property_retention_property_id_foreign FOREIGN KEY (property_id) REFERENCES properties(id) ON DELETE CASCADE
constraint raw_objects.raw_objects_pkey PRIMARY KEY (key)
constraint redriven_letters.redriven_letters_pkey PRIMARY KEY (property_id, letter_id)
constraint replays.replays_pkey PRIMARY KEY (id)
constraint replays.replays_state_check CHECK ((state = ANY (ARRAY['queued'::text, 'running'::text, 'succeeded'::text, 'failed'::text])))
constraint sessions.sessions_pkey PRIMARY KEY (sid)
constraint sessions.sessions_user_id_foreign FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE
constraint usage_hourly.usage_hourly_pkey PRIMARY KEY (property_id, hour)
constraint users.users_email_unique UNIQUE (email)
constraint users.users_pkey PRIMARY KEY (id)
index api_keys_hash_unique: CREATE UNIQUE INDEX api_keys_hash_unique ON public.api_keys USING btree (hash)
index api_keys_organization_id_index: CREATE INDEX api_keys_organization_id_index ON public.api_keys USING btree (organization_id)
index api_keys_pkey: CREATE UNIQUE INDEX api_keys_pkey ON public.api_keys USING btree (id)
index app_secrets_pkey: CREATE UNIQUE INDEX app_secrets_pkey ON public.app_secrets USING btree (name)
index audit_log_organization_id_id_index: CREATE INDEX audit_log_organization_id_id_index ON public.audit_log USING btree (organization_id, id)
index audit_log_pkey: CREATE UNIQUE INDEX audit_log_pkey ON public.audit_log USING btree (id)
index auth_tokens_organization_id_kind_index: CREATE INDEX auth_tokens_organization_id_kind_index ON public.auth_tokens USING btree (organization_id, kind)
index auth_tokens_pkey: CREATE UNIQUE INDEX auth_tokens_pkey ON public.auth_tokens USING btree (token_hash)
index billing_accounts_pkey: CREATE UNIQUE INDEX billing_accounts_pkey ON public.billing_accounts USING btree (organization_id)
index billing_accounts_stripe_customer_id_unique: CREATE UNIQUE INDEX billing_accounts_stripe_customer_id_unique ON public.billing_accounts USING btree (stripe_customer_id)
index billing_meter_reports_identifier_unique: CREATE UNIQUE INDEX billing_meter_reports_identifier_unique ON public.billing_meter_reports USING btree (identifier)
index billing_meter_reports_pkey: CREATE UNIQUE INDEX billing_meter_reports_pkey ON public.billing_meter_reports USING btree (organization_id, hour)
index billing_notices_pkey: CREATE UNIQUE INDEX billing_notices_pkey ON public.billing_notices USING btree (organization_id, month, threshold)
index billing_webhook_events_pkey: CREATE UNIQUE INDEX billing_webhook_events_pkey ON public.billing_webhook_events USING btree (id)
index credential_version_pkey: CREATE UNIQUE INDEX credential_version_pkey ON public.credential_version USING btree (id)
index custom_definitions_active_uq: CREATE UNIQUE INDEX custom_definitions_active_uq ON public.custom_definitions USING btree (property_id, kind, scope, parameter_name) WHERE (archived_at IS NULL)
index custom_definitions_pkey: CREATE UNIQUE INDEX custom_definitions_pkey ON public.custom_definitions USING btree (id)
index deletion_receipts_pkey: CREATE UNIQUE INDEX deletion_receipts_pkey ON public.deletion_receipts USING btree (id)
index deletion_receipts_property_id_created_at_index: CREATE INDEX deletion_receipts_property_id_created_at_index ON public.deletion_receipts USING btree (property_id, created_at)
index fx_rates_refresh_pkey: CREATE UNIQUE INDEX fx_rates_refresh_pkey ON public.fx_rates_refresh USING btree (id)
index job_runs_name_started_at_index: CREATE INDEX job_runs_name_started_at_index ON public.job_runs USING btree (name, started_at)
index job_runs_pkey: CREATE UNIQUE INDEX job_runs_pkey ON public.job_runs USING btree (id)
index knex_migrations_lock_pkey: CREATE UNIQUE INDEX knex_migrations_lock_pkey ON public.knex_migrations_lock USING btree (index)
index knex_migrations_pkey: CREATE UNIQUE INDEX knex_migrations_pkey ON public.knex_migrations USING btree (id)
index memberships_pkey: CREATE UNIQUE INDEX memberships_pkey ON public.memberships USING btree (organization_id, user_id)
index organizations_pkey: CREATE UNIQUE INDEX organizations_pkey ON public.organizations USING btree (id)
index partition_locks_pkey: CREATE UNIQUE INDEX partition_locks_pkey ON public.partition_locks USING btree (id)
index partition_locks_property_id_index: CREATE INDEX partition_locks_property_id_index ON public.partition_locks USING btree (property_id)
index partitions_pkey: CREATE UNIQUE INDEX partitions_pkey ON public.partitions USING btree (property_id, table_name, dt)
index pipeline_state_pkey: CREATE UNIQUE INDEX pipeline_state_pkey ON public.pipeline_state USING btree (property_id)
index plan_changes_organization_id_index: CREATE INDEX plan_changes_organization_id_index ON public.plan_changes USING btree (organization_id)
index plan_changes_pending: CREATE INDEX plan_changes_pending ON public.plan_changes USING btree (id) WHERE (handled_at IS NULL)
index plan_changes_pkey: CREATE UNIQUE INDEX plan_changes_pkey ON public.plan_changes USING btree (id)
index plans_pkey: CREATE UNIQUE INDEX plans_pkey ON public.plans USING btree (id)
index properties_measurement_id_unique: CREATE UNIQUE INDEX properties_measurement_id_unique ON public.properties USING btree (measurement_id)
index properties_organization_id_index: CREATE INDEX properties_organization_id_index ON public.properties USING btree (organization_id)
index properties_pkey: CREATE UNIQUE INDEX properties_pkey ON public.properties USING btree (id)
index properties_site_id_unique: CREATE UNIQUE INDEX properties_site_id_unique ON public.properties USING btree (site_id)
index property_retention_pkey: CREATE UNIQUE INDEX property_retention_pkey ON public.property_retention USING btree (property_id)
index raw_objects_pkey: CREATE UNIQUE INDEX raw_objects_pkey ON public.raw_objects USING btree (key)
index raw_objects_property_id_seq_index: CREATE INDEX raw_objects_property_id_seq_index ON public.raw_objects USING btree (property_id, seq)
index redriven_letters_pkey: CREATE UNIQUE INDEX redriven_letters_pkey ON public.redriven_letters USING btree (property_id, letter_id)
index replays_pkey: CREATE UNIQUE INDEX replays_pkey ON public.replays USING btree (id)
index replays_property_id_created_at_index: CREATE INDEX replays_property_id_created_at_index ON public.replays USING btree (property_id, created_at)
index sessions_expires_at_index: CREATE INDEX sessions_expires_at_index ON public.sessions USING btree (expires_at)
index sessions_pkey: CREATE UNIQUE INDEX sessions_pkey ON public.sessions USING btree (sid)
index sessions_user_id_index: CREATE INDEX sessions_user_id_index ON public.sessions USING btree (user_id)
index usage_hourly_pkey: CREATE UNIQUE INDEX usage_hourly_pkey ON public.usage_hourly USING btree (property_id, hour)
index usage_hourly_tenant_id_hour_index: CREATE INDEX usage_hourly_tenant_id_hour_index ON public.usage_hourly USING btree (tenant_id, hour)
index users_email_unique: CREATE UNIQUE INDEX users_email_unique ON public.users USING btree (email)
index users_pkey: CREATE UNIQUE INDEX users_pkey ON public.users USING btree (id)
sequence audit_log_id_seq bigint start 1 increment 1
sequence knex_migrations_id_seq integer start 1 increment 1
sequence knex_migrations_lock_index_seq integer start 1 increment 1
sequence partition_locks_id_seq bigint start 1 increment 1
sequence plan_changes_id_seq bigint start 1 increment 1
sequence property_id_seq bigint start 400000001 increment 1
sequence raw_object_seq bigint start 1 increment 1
