/// A versioned schema change. Versions only grow; a released migration is
/// never edited (add a new one instead).
public struct Migration: Sendable {
    public let version: Int
    public let name: String
    /// SQL the code owns, run as one script inside the migration's transaction.
    public let sql: String
}

extension Migration {
    /// Every migration, in order.
    public static let all: [Migration] = [
        Migration(version: 1, name: "hub core: cases, audit trail, inbox, outbox, rejections, deliveries", sql: """
            CREATE TABLE cases (
                id          text PRIMARY KEY,
                procedure   text NOT NULL,
                status      text NOT NULL,
                -- the agency that holds the case now
                holder      text,
                -- agencies party to the case: they receive its events
                parties     text[] NOT NULL DEFAULT '{}',
                -- each agency's own number for the case, by agency id
                numbers     jsonb NOT NULL DEFAULT '{}',
                version     bigint NOT NULL,
                opened_at   timestamptz NOT NULL,
                updated_at  timestamptz NOT NULL
            );

            -- Event ids the hub has processed: replays and duplicates stop here.
            CREATE TABLE inbox (
                event_id     uuid PRIMARY KEY,
                source       text NOT NULL,
                content_hash bytea NOT NULL,
                received_at  timestamptz NOT NULL DEFAULT now()
            );

            -- The audit trail: append-only, hash-chained in seq order.
            CREATE TABLE case_events (
                seq           bigint PRIMARY KEY,
                event_id      text,
                case_id       text,
                outcome       text NOT NULL CHECK (outcome IN ('accepted', 'refused', 'admin')),
                type          text NOT NULL,
                source        text NOT NULL,
                occurred_at   timestamptz NOT NULL,
                recorded_at   timestamptz NOT NULL,
                case_version  bigint,
                body          jsonb NOT NULL,
                prev_hash     bytea NOT NULL,
                hash          bytea NOT NULL
            );
            CREATE INDEX case_events_case ON case_events (case_id, seq);

            -- The chain's head; locking this row serialises appends.
            CREATE TABLE audit_head (
                singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
                seq       bigint NOT NULL,
                hash      bytea NOT NULL
            );
            INSERT INTO audit_head VALUES (true, 0, decode(repeat('00', 32), 'hex'));

            -- Kafka records to publish, written in the same transaction as the state.
            CREATE TABLE outbox (
                id          bigserial PRIMARY KEY,
                topic       text NOT NULL,
                key         text,
                headers     jsonb NOT NULL,
                value       bytea NOT NULL,
                created_at  timestamptz NOT NULL DEFAULT now(),
                sent_at     timestamptz
            );
            CREATE INDEX outbox_unsent ON outbox (id) WHERE sent_at IS NULL;

            -- Every refused event, with why: nothing is dropped silently.
            CREATE TABLE rejections (
                id           bigserial PRIMARY KEY,
                event_id     text,
                source       text,
                topic        text NOT NULL,
                case_id      text,
                type         text,
                code         text NOT NULL,
                reason       text NOT NULL,
                violations   jsonb NOT NULL DEFAULT '[]',
                headers      jsonb NOT NULL,
                value        bytea NOT NULL,
                received_at  timestamptz NOT NULL DEFAULT now()
            );

            -- Adapter side: what reached each agency, until the agency acknowledges it.
            CREATE TABLE deliveries (
                cursor        bigserial PRIMARY KEY,
                agency        text NOT NULL,
                event_id      text NOT NULL,
                case_id       text,
                type          text NOT NULL,
                event         jsonb NOT NULL,
                delivered_at  timestamptz NOT NULL DEFAULT now(),
                acked_at      timestamptz,
                UNIQUE (agency, event_id)
            );
            CREATE INDEX deliveries_agency ON deliveries (agency, cursor);
            """),
        caseStateAndDeadlines,
        adapterTokensAndSubmissions,
        webhooks,
        flowIndexes,
        rejectionReplay,
        shardedAuditChains,
        auditCheckpoints,
        shardedOutbox,
        adapterStageRefusals,
        penaltyDecisions,
        suspendedDeadlines,
        administratorApprovedKeys,
        eventIDsPerSender,
        auditHashFormat,
        serviceRecords,
        hubDeliveryKeys,
        separateRoles,
    ]

    public static var latestVersion: Int { all.last!.version }
}

extension Migration {
    static let caseStateAndDeadlines = Migration(version: 2, name: "case state as JSON, statutory deadlines, agency signing keys", sql: """
        -- The whole canonical state (CaseModel.CaseState); the columns beside it are for queries.
        ALTER TABLE cases ADD COLUMN state jsonb NOT NULL DEFAULT '{}';
        ALTER TABLE cases ADD COLUMN title text;
        CREATE INDEX cases_procedure_status ON cases (procedure, status);
        CREATE INDEX cases_parties ON cases USING gin (parties);

        -- One row per case and rule; restarting a rule's clock replaces it.
        CREATE TABLE deadlines (
            case_id             text NOT NULL REFERENCES cases (id),
            rule_id             text NOT NULL,
            obliged_agency      text NOT NULL,
            legal_basis         text NOT NULL,
            trigger_event_id    text NOT NULL,
            trigger_event_type  text NOT NULL,
            started_at          timestamptz NOT NULL,
            due_at              timestamptz NOT NULL,
            warn_at             timestamptz NOT NULL,
            state               text NOT NULL CHECK (state IN ('running', 'met', 'stopped')),
            closed_at           timestamptz,
            -- when the scheduler queued the warning / overdue notice (exactly once each)
            warning_sent_at     timestamptz,
            overdue_sent_at     timestamptz,
            PRIMARY KEY (case_id, rule_id)
        );
        CREATE INDEX deadlines_running ON deadlines (warn_at) WHERE state = 'running';

        -- Ed25519 public keys of the agencies' adapters. A rotated key stays
        -- valid for events signed before its retirement.
        CREATE TABLE agency_keys (
            agency      text NOT NULL,
            key_id      text NOT NULL,
            public_key  bytea NOT NULL CHECK (length(public_key) = 32),
            created_at  timestamptz NOT NULL DEFAULT now(),
            retired_at  timestamptz,
            PRIMARY KEY (agency, key_id)
        );
        """)
}

extension Migration {
    static let adapterTokensAndSubmissions = Migration(version: 3, name: "agency bearer tokens, adapter submissions", sql: """
        -- Bearer tokens of the agencies' systems; only a SHA-256 of each is kept.
        CREATE TABLE agency_tokens (
            token_hash  bytea PRIMARY KEY CHECK (length(token_hash) = 32),
            agency      text NOT NULL,
            label       text NOT NULL DEFAULT '',
            created_at  timestamptz NOT NULL DEFAULT now(),
            revoked_at  timestamptz
        );
        CREATE INDEX agency_tokens_agency ON agency_tokens (agency);

        -- Every event id an adapter accepted, with a hash of its content: the
        -- same id again with the same content is idempotent, with other content a conflict.
        CREATE TABLE adapter_submissions (
            event_id      uuid PRIMARY KEY,
            agency        text NOT NULL,
            content_hash  bytea NOT NULL,
            submitted_at  timestamptz NOT NULL DEFAULT now()
        );
        """)
}

extension Migration {
    static let webhooks = Migration(version: 4, name: "agency webhooks and push state of deliveries", sql: """
        -- Where an agency wants its deliveries pushed; the secret signs each push (HMAC-SHA256).
        CREATE TABLE webhooks (
            agency           text PRIMARY KEY,
            url              text NOT NULL,
            secret           text NOT NULL,
            created_at       timestamptz NOT NULL DEFAULT now(),
            last_success_at  timestamptz,
            last_failure_at  timestamptz,
            last_error       text
        );
        ALTER TABLE deliveries ADD COLUMN pushed_at timestamptz;
        ALTER TABLE deliveries ADD COLUMN push_attempts integer NOT NULL DEFAULT 0;
        ALTER TABLE deliveries ADD COLUMN next_push_at timestamptz;
        CREATE INDEX deliveries_unacked ON deliveries (agency, cursor) WHERE acked_at IS NULL;
        """)
}

extension Migration {
    static let flowIndexes = Migration(version: 5, name: "indexes for the administrators' flow and refusal queries", sql: """
        CREATE INDEX case_events_event ON case_events (event_id);
        CREATE INDEX deliveries_delivered ON deliveries (delivered_at);
        CREATE INDEX rejections_received ON rejections (received_at);
        """)
}

extension Migration {
    static let rejectionReplay = Migration(version: 6, name: "replay of refused events by administrators", sql: """
        ALTER TABLE rejections ADD COLUMN replayed_at timestamptz;
        ALTER TABLE rejections ADD COLUMN replay_reason text;
        ALTER TABLE rejections ADD COLUMN replayed_by text;
        """)
}

extension Migration {
    /// The audit trail becomes a fixed number of hash chains (``AuditShards``),
    /// each with its own head, so that hub transactions touching different
    /// shards no longer take turns on one row. Rows written before stay one
    /// chain (`shard` NULL) under `audit_head`, verified as before. The
    /// shards' heads are created by the migrator (their number is chosen at
    /// `casehub migrate`). `seq` stays a global order, now from a sequence.
    static let shardedAuditChains = Migration(version: 7, name: "sharded audit chains with a head per shard", sql: """
        CREATE TABLE audit_shards (
            shard  integer PRIMARY KEY CHECK (shard >= 0),
            seq    bigint NOT NULL,
            hash   bytea NOT NULL
        );
        ALTER TABLE case_events ADD COLUMN shard integer;
        ALTER TABLE case_events ADD COLUMN shard_seq bigint;
        CREATE UNIQUE INDEX case_events_chain ON case_events (shard, shard_seq) WHERE shard IS NOT NULL;
        CREATE SEQUENCE case_events_seq OWNED BY case_events.seq;
        SELECT setval('case_events_seq', coalesce((SELECT max(seq) FROM case_events), 0) + 1, false);
        ALTER TABLE case_events ALTER COLUMN seq SET DEFAULT nextval('case_events_seq');
        """)
}

extension Migration {
    /// Signed checkpoints of the audit chains' heads (``AuditCheckpoint``):
    /// kept here, and published on the `checkpoints` topic for auditors to keep
    /// outside this database.
    static let auditCheckpoints = Migration(version: 8, name: "signed checkpoints of the audit chains", sql: """
        CREATE TABLE audit_checkpoints (
            id          bigserial PRIMARY KEY,
            created_at  timestamptz NOT NULL,
            key_id      text NOT NULL,
            body        text NOT NULL,
            signature   bytea NOT NULL
        );
        """)
}

extension Migration {
    /// The outbox in the audit chains' shards (``OutboxShards``): each record
    /// gets its shard's next position, assigned under the shard's head lock
    /// so that positions commit in order. Relays hold shards under leases and
    /// keep one sent watermark per shard instead of marking rows. A record
    /// that cannot be published is parked, and only its case's later records
    /// wait behind it. Unsent records of before go to shard 0, in their order;
    /// `sent_at` stays only on records sent before.
    static let shardedOutbox = Migration(version: 9, name: "sharded outbox: per-shard positions, relay leases and watermarks, parked records", sql: """
        ALTER TABLE audit_shards ADD COLUMN outbox_seq bigint NOT NULL DEFAULT 0;
        ALTER TABLE outbox ADD COLUMN shard integer;
        ALTER TABLE outbox ADD COLUMN shard_seq bigint;
        UPDATE outbox SET shard = 0, shard_seq = pending.n
        FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM outbox WHERE sent_at IS NULL) AS pending
        WHERE outbox.id = pending.id;
        UPDATE audit_shards SET outbox_seq = (SELECT count(*) FROM outbox WHERE shard = 0) WHERE shard = 0;
        DROP INDEX outbox_unsent;
        CREATE UNIQUE INDEX outbox_shard_order ON outbox (shard, shard_seq) WHERE shard IS NOT NULL;

        -- One row per shard: how far its records are published, and which relay holds it.
        CREATE TABLE outbox_shards (
            shard        integer PRIMARY KEY CHECK (shard >= 0),
            sent_seq     bigint NOT NULL DEFAULT 0,
            holder       text,
            lease_until  timestamptz
        );
        -- The relays alive, so that each takes its fair share of the shards.
        CREATE TABLE outbox_relays (
            holder       text PRIMARY KEY,
            alive_until  timestamptz NOT NULL
        );
        -- Records the relay could not publish, and the later records of the
        -- same key (case) that wait behind them. The first open record of a
        -- key is the one that failed; released, the whole key is tried again.
        CREATE TABLE outbox_parked (
            shard                 integer NOT NULL,
            shard_seq             bigint NOT NULL,
            ordering_key          text NOT NULL,
            reason                text NOT NULL,
            attempts              integer NOT NULL,
            parked_at             timestamptz NOT NULL DEFAULT now(),
            release_requested_at  timestamptz,
            resolved_at           timestamptz,
            resolution            text CHECK (resolution IN ('published', 'discarded')),
            resolved_by           text,
            PRIMARY KEY (shard, shard_seq)
        );
        CREATE INDEX outbox_parked_open ON outbox_parked (shard, ordering_key, shard_seq) WHERE resolved_at IS NULL;
        """)
}

extension Migration {
    /// The adapters' refusals (a 4xx to an agency's request) beside the hub's
    /// in `rejections` (``AdapterRejectionStore``): rows so far are the hub's.
    /// Written to be run again safely (`IF NOT EXISTS`), though the migrator
    /// applies it once.
    static let adapterStageRefusals = Migration(
        version: 10, name: "adapter-stage refusals: stage, credential and claimed agency, HTTP status, body size and hash", sql: """
        ALTER TABLE rejections ADD COLUMN IF NOT EXISTS stage text NOT NULL DEFAULT 'hub' CHECK (stage IN ('hub', 'adapter'));
        -- `source` is the agency whose credential made the request; this the one it claimed to be, where another.
        ALTER TABLE rejections ADD COLUMN IF NOT EXISTS claimed_agency text;
        -- SHA-256 of the bearer token used, as agency_tokens keeps it (never the token).
        ALTER TABLE rejections ADD COLUMN IF NOT EXISTS token_hash bytea;
        -- e.g. POST /v1/agencies/zz-epb/events, and the status it was answered with.
        ALTER TABLE rejections ADD COLUMN IF NOT EXISTS request text;
        ALTER TABLE rejections ADD COLUMN IF NOT EXISTS http_status integer;
        -- `value` keeps a refused body only up to 64 KiB; these say what it was.
        ALTER TABLE rejections ADD COLUMN IF NOT EXISTS body_size bigint;
        ALTER TABLE rejections ADD COLUMN IF NOT EXISTS body_sha256 bytea;
        -- A request an adapter refused never reached a topic.
        ALTER TABLE rejections ALTER COLUMN topic DROP NOT NULL;
        CREATE INDEX IF NOT EXISTS rejections_code ON rejections (code, id);
        """)
}

extension Migration {
    static let penaltyDecisions = Migration(version: 11, name: "administrative penalty decision numbers, unique per issuing bureau", sql: """
        -- One row per penalty decision the hub accepted: a bureau's number is
        -- used once (a second decision under it is refused, on any case).
        CREATE TABLE penalty_decisions (
            issuer       text NOT NULL,
            number       text NOT NULL,
            case_id      text NOT NULL,
            event_id     text NOT NULL,
            recorded_at  timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (issuer, number)
        );
        """)
}

extension Migration {
    static let suspendedDeadlines = Migration(version: 12, name: "deadlines may be suspended (court proceedings suspended: the trial period pauses)", sql: """
        ALTER TABLE deadlines DROP CONSTRAINT IF EXISTS deadlines_state_check;
        ALTER TABLE deadlines ADD CONSTRAINT deadlines_state_check CHECK (state IN ('running', 'met', 'stopped', 'suspended'));
        """)
}

extension Migration {
    /// Agency keys become an administrator's decision: an adapter only
    /// proposes its key (`agency_key_proposals`); `agency_keys`, the only keys
    /// the hub verifies with, holds what an administrator registered or
    /// approved, and says who. Keys adapters registered themselves before stay
    /// trusted, marked so that `casehub keys list` shows them for review.
    static let administratorApprovedKeys = Migration(version: 13, name: "agency keys proposed by adapters, registered or approved by administrators", sql: """
        CREATE TABLE agency_key_proposals (
            agency       text NOT NULL,
            key_id       text NOT NULL,
            public_key   bytea NOT NULL CHECK (length(public_key) = 32),
            proposed_at  timestamptz NOT NULL DEFAULT now(),
            proposed_by  text NOT NULL,
            -- retired before any approval: never approved afterwards
            rejected_at  timestamptz,
            rejected_by  text,
            PRIMARY KEY (agency, key_id)
        );
        ALTER TABLE agency_keys ADD COLUMN registered_by text;
        ALTER TABLE agency_keys ADD COLUMN retired_by text;
        UPDATE agency_keys SET registered_by = 'self-registered by an adapter before migration 13';
        ALTER TABLE agency_keys ALTER COLUMN registered_by SET NOT NULL;
        """)
}

extension Migration {
    /// Event ids are unique per sender (CloudEvents `source` + `id`): one
    /// agency can neither claim nor probe another's ids, at the hub (`inbox`),
    /// at the adapters (`adapter_submissions`) or in the receivers' inboxes
    /// (`deliveries`).
    static let eventIDsPerSender = Migration(version: 14, name: "event ids unique per sender: inbox, adapter submissions and deliveries keyed by agency", sql: """
        ALTER TABLE inbox DROP CONSTRAINT inbox_pkey;
        ALTER TABLE inbox ADD PRIMARY KEY (source, event_id);
        ALTER TABLE adapter_submissions DROP CONSTRAINT adapter_submissions_pkey;
        ALTER TABLE adapter_submissions ADD PRIMARY KEY (agency, event_id);
        ALTER TABLE deliveries ADD COLUMN source text;
        UPDATE deliveries SET source = coalesce(event->>'source', '');
        ALTER TABLE deliveries ALTER COLUMN source SET NOT NULL;
        ALTER TABLE deliveries DROP CONSTRAINT deliveries_agency_event_id_key;
        ALTER TABLE deliveries ADD CONSTRAINT deliveries_agency_source_event UNIQUE (agency, source, event_id);
        -- An adapter frees a refused event's id by looking up the hub's refusal.
        CREATE INDEX rejections_event ON rejections (event_id);
        """)
}

extension Migration {
    static let auditHashFormat = Migration(version: 15, name: "the canonical JSON format each audit row is hashed in", sql: """
        -- Which version of the canonical JSON (JSONValue.CanonicalFormat) a
        -- row's hash was taken over, so that verify makes the same bytes
        -- again. Every row before this migration is format 1 (a constant
        -- default: no table rewrite); the hub writes 2 from now on.
        ALTER TABLE case_events ADD COLUMN hash_format smallint NOT NULL DEFAULT 1;
        """)
}

extension Migration {
    /// Clocks that run from an agency's receipt of a document start at the
    /// hub's record of its delivery: the adapter writes a service record with
    /// the delivery into the agency's inbox, in the same statement; the hub
    /// applies it to the case (``HubStore/serviceChannel`` wakes it).
    static let serviceRecords = Migration(version: 16, name: "service records: a document's delivery into the served agency's inbox starts its clocks", sql: """
        ALTER TABLE deadlines DROP CONSTRAINT IF EXISTS deadlines_state_check;
        ALTER TABLE deadlines ADD CONSTRAINT deadlines_state_check CHECK (state IN ('running', 'met', 'stopped', 'suspended', 'awaiting-service'));
        CREATE TABLE service_records (
            id          bigserial PRIMARY KEY,
            agency      text NOT NULL,
            source      text NOT NULL,
            event_id    text NOT NULL,
            case_id     text NOT NULL,
            served_at   timestamptz NOT NULL,
            applied_at  timestamptz,
            UNIQUE (agency, source, event_id)
        );
        CREATE INDEX service_records_pending ON service_records (id) WHERE applied_at IS NULL;
        """)
}

extension Migration {
    /// The public halves of the keys hub processes sign deliveries with
    /// (``HubKeyStore``): an adapter that is given no hub key of its own
    /// trusts these.
    static let hubDeliveryKeys = Migration(version: 17, name: "hub keys that sign the records on agencies' delivery topics", sql: """
        CREATE TABLE hub_keys (
            key_id           text PRIMARY KEY,
            public_key       bytea NOT NULL CHECK (length(public_key) = 32),
            -- false: made by a hub process started without a key file, for its lifetime only
            from_file        boolean NOT NULL,
            first_used_at    timestamptz NOT NULL DEFAULT now(),
            last_started_at  timestamptz NOT NULL DEFAULT now()
        );
        """)
}

extension Migration {
    /// For the processes' separate roles (``DatabaseRole``; their grants are
    /// applied after every run, ``DatabaseGrants``).
    ///
    /// The adapters change webhooks but may not write the audit trail: a
    /// trigger records every change of `webhooks`, whoever makes it, in
    /// `webhook_changes`, and the hub moves each into the audit trail
    /// (`WebhookChangeAuditor`). The trigger's function runs as the schema's
    /// owner, so the adapters' role needs no privilege on that table and
    /// cannot forge, alter or remove a record of a change; it names the
    /// database user who made the change, and who the writing process said
    /// acted (the `casehub.actor` setting of its transaction).
    ///
    /// `cases_replay`, the scratch table of `casehub replay`, which created it
    /// itself; now only `migrate` creates tables.
    static let separateRoles = Migration(version: 18, name: "separate roles: webhook changes recorded for the hub to audit, replay scratch table", sql: """
        CREATE TABLE webhook_changes (
            id              bigserial PRIMARY KEY,
            agency          text NOT NULL,
            action          text NOT NULL CHECK (action IN ('set', 'removed')),
            -- the address set or removed, as given: the audit entry keeps it without user info or query
            url             text NOT NULL,
            secret_changed  boolean NOT NULL,
            replaced        boolean NOT NULL,
            -- who acted, as the writing process named them; NULL when it named no one
            actor           jsonb,
            database_user   text NOT NULL,
            changed_at      timestamptz NOT NULL
        );

        CREATE FUNCTION casehub_record_webhook_change() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$
        DECLARE
            named jsonb := nullif(current_setting('casehub.actor', true), '')::jsonb;
            moved boolean := TG_OP = 'UPDATE' AND OLD.agency <> NEW.agency;
        BEGIN
            IF TG_OP = 'DELETE' OR moved THEN
                INSERT INTO webhook_changes (agency, action, url, secret_changed, replaced, actor, database_user, changed_at)
                VALUES (OLD.agency, 'removed', OLD.url, false, false, named, session_user, now());
            END IF;
            IF TG_OP = 'INSERT' OR moved THEN
                INSERT INTO webhook_changes (agency, action, url, secret_changed, replaced, actor, database_user, changed_at)
                VALUES (NEW.agency, 'set', NEW.url, true, false, named, session_user, now());
            ELSIF TG_OP = 'UPDATE' THEN
                INSERT INTO webhook_changes (agency, action, url, secret_changed, replaced, actor, database_user, changed_at)
                VALUES (NEW.agency, 'set', NEW.url, OLD.secret IS DISTINCT FROM NEW.secret, true, named, session_user, now());
            END IF;
            RETURN NULL;
        END $$;
        -- Names resolve in this schema only: pg_temp last, so that no session's
        -- temporary table can stand in for webhook_changes.
        DO $$ BEGIN
            EXECUTE format('ALTER FUNCTION casehub_record_webhook_change() SET search_path = pg_catalog, %I, pg_temp', current_schema());
        END $$;
        REVOKE ALL ON FUNCTION casehub_record_webhook_change() FROM PUBLIC;
        CREATE TRIGGER webhooks_recorded AFTER INSERT OR DELETE OR UPDATE OF agency, url, secret ON webhooks
            FOR EACH ROW EXECUTE FUNCTION casehub_record_webhook_change();

        CREATE TABLE IF NOT EXISTS cases_replay (id text PRIMARY KEY, state jsonb NOT NULL);
        """)
}
