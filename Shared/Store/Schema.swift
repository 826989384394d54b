import Postgres

/// Undersigned's database schema, as numbered migrations. Append new ones; never edit an applied one.
public enum Schema {
    public static let migrator = Migrator(migrations: [
        Migration(version: 1, name: "petitions, signatures, counts, milestones", sql: """
            CREATE TABLE petitions (
                id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                slug        text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,63}$'),
                title       text NOT NULL,
                body        text NOT NULL DEFAULT '',
                status      text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
                closes_at   timestamptz,
                milestones  bigint[] NOT NULL DEFAULT '{1000,10000,100000,1000000}',
                created_at  timestamptz NOT NULL DEFAULT now()
            );

            -- One row per signer per petition. signer_key is HMAC-SHA256(secret, canonical email):
            -- 32 bytes, compact enough that the unique index stays in memory at 100M rows per GB of buffers.
            -- The plaintext email is not stored here.
            CREATE TABLE signatures (
                id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                petition_id     bigint NOT NULL REFERENCES petitions (id),
                signer_key      bytea NOT NULL CHECK (length(signer_key) = 32),
                submission_id   uuid NOT NULL,
                name            text NOT NULL,
                country         char(2) NOT NULL,
                postal_code     text,
                contact_opt_in  boolean NOT NULL DEFAULT false,
                source          text NOT NULL,
                partner         text,
                signed_at       timestamptz NOT NULL,
                accepted_at     timestamptz NOT NULL DEFAULT now(),
                UNIQUE (petition_id, signer_key)
            );

            -- Tally's record of what it counted, written in the same transaction as the increments:
            -- a redelivered accepted event finds its id here and changes nothing.
            CREATE TABLE tally_counted (
                signature_id bigint PRIMARY KEY
            );

            -- Counts per petition and country. Each tally instance writes its own shard, so instances never
            -- wait on one hot row; a read sums the shards (a few hundred rows at most).
            CREATE TABLE petition_counts (
                petition_id bigint NOT NULL REFERENCES petitions (id),
                country     char(2) NOT NULL,
                shard       smallint NOT NULL DEFAULT 0,
                count       bigint NOT NULL DEFAULT 0 CHECK (count >= 0),
                updated_at  timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (petition_id, country, shard)
            );

            -- A threshold is crossed once (primary key). published_at is the outbox mark: tally publishes
            -- rows where it is NULL after each commit, so a crash between commit and publish loses nothing.
            CREATE TABLE milestones (
                petition_id   bigint NOT NULL REFERENCES petitions (id),
                threshold     bigint NOT NULL,
                total         bigint NOT NULL,
                reached_at    timestamptz NOT NULL DEFAULT now(),
                published_at  timestamptz,
                PRIMARY KEY (petition_id, threshold)
            );
            CREATE INDEX milestones_unpublished ON milestones (reached_at) WHERE published_at IS NULL;

            -- What delivery received, once per event key.
            CREATE TABLE delivery_events (
                id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                event_key    text NOT NULL UNIQUE,
                kind         text NOT NULL,
                petition     text NOT NULL,
                payload      jsonb NOT NULL,
                received_at  timestamptz NOT NULL DEFAULT now()
            );
            """),
        Migration(version: 2, name: "rejected signatures", sql: """
            -- Signatures of an envelope that were not taken, by position, so a partner can be told which rows
            -- and why. Written in the same transaction as the batch; a redelivered envelope adds nothing.
            CREATE TABLE rejected_signatures (
                envelope_id  uuid NOT NULL,
                position     integer NOT NULL,
                field        text NOT NULL,
                reason       text NOT NULL,
                partner      text,
                rejected_at  timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (envelope_id, position)
            );
            """),
        Migration(version: 3, name: "signing rate buckets", sql: """
            -- Signatures counted per 10-second bucket (per tally shard), for the signing rate shown live.
            -- Tally writes them with the counts and keeps the last hour.
            CREATE TABLE count_buckets (
                petition_id  bigint NOT NULL REFERENCES petitions (id),
                bucket       timestamptz NOT NULL,
                shard        smallint NOT NULL,
                count        bigint NOT NULL,
                PRIMARY KEY (petition_id, bucket, shard)
            );
            """),
        Migration(version: 4, name: "partners and their receipts", sql: """
            -- A partner organisation: its RabbitMQ login is its name; its API key (for HTTP batches) is kept
            -- only as a SHA-256 hash (the key is 32 random bytes, so a slow hash adds nothing).
            CREATE TABLE partners (
                name             text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9-]{1,31}$'),
                api_key_hash     bytea NOT NULL UNIQUE CHECK (length(api_key_hash) = 32),
                status           text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
                max_connections  integer NOT NULL DEFAULT 5 CHECK (max_connections > 0),
                receipt_url      text,
                created_at       timestamptz NOT NULL DEFAULT now(),
                rotated_at       timestamptz
            );

            -- What became of every signature of a partner envelope, written by dedup in the same transaction
            -- as the signatures (a redelivered envelope adds nothing). accepted and duplicate hold positions in
            -- the envelope; the row in the partner's batch is first_row + position. Invalid rows and rows for an
            -- unknown petition are in rejected_signatures (same positions) with their reason.
            CREATE TABLE partner_receipts (
                envelope_id  uuid PRIMARY KEY,
                partner      text NOT NULL,
                batch_id     text NOT NULL,
                first_row    integer NOT NULL DEFAULT 0,
                total        integer NOT NULL,
                accepted     integer[] NOT NULL,
                duplicate    integer[] NOT NULL,
                received_at  timestamptz NOT NULL DEFAULT now()
            );
            CREATE INDEX partner_receipts_batch ON partner_receipts (partner, batch_id);

            -- HTTP batches intake took (all their envelopes confirmed by the broker).
            CREATE TABLE partner_batches (
                partner      text NOT NULL REFERENCES partners (name),
                batch_id     text NOT NULL,
                rows         integer NOT NULL,
                envelopes    integer NOT NULL,
                malformed    integer NOT NULL,
                format       text NOT NULL,
                created_at   timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (partner, batch_id)
            );
            """),
        Migration(version: 5, name: "unreadable rows of HTTP batches", sql: """
            -- Rows of an HTTP batch that could not be read at all (never sent on), with their reason, for the
            -- batch's receipt: [{"row": 7, "reason": "…"}, …].
            ALTER TABLE partner_batches ADD COLUMN malformed_rows jsonb NOT NULL DEFAULT '[]';
            """),
        Migration(version: 6, name: "partner backlog limit", sql: """
            -- Most envelopes a partner's queue holds before the broker nacks its publishes (a RabbitMQ policy
            -- set by `undersigned partner add`; kept here so that `rotate` can set it again).
            ALTER TABLE partners ADD COLUMN max_backlog integer NOT NULL DEFAULT 2000 CHECK (max_backlog > 0);
            """),
        Migration(version: 7, name: "signed webhooks", sql: """
            -- The key a partner's receipt webhooks are signed with (HMAC-SHA256); shown once by `partner add`.
            ALTER TABLE partners ADD COLUMN webhook_secret text;

            -- Webhook calls to make, made, or given up on: an outbox the delivery service works through with
            -- retries (exponential back-off with jitter) until give_up_at. One row per idempotency key, so the
            -- same event twice is one call. An operator puts a failed one back with `undersigned webhooks retry`.
            CREATE TABLE webhook_deliveries (
                id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                idempotency_key  text NOT NULL UNIQUE,
                kind             text NOT NULL,
                owner            text NOT NULL,
                url              text NOT NULL,
                body             bytea NOT NULL,
                state            text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
                attempts         integer NOT NULL DEFAULT 0,
                next_attempt_at  timestamptz NOT NULL DEFAULT now(),
                give_up_at       timestamptz NOT NULL,
                last_status      integer,
                last_error       text,
                created_at       timestamptz NOT NULL DEFAULT now(),
                delivered_at     timestamptz
            );
            CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';
            """),
        Migration(version: 8, name: "delivery targets and deliveries", sql: """
            -- Who a petition is delivered to, and how: a webhook URL, an e-mail address, or a directory for files.
            -- countries NULL means every signer; otherwise only signers from these countries.
            CREATE TABLE delivery_targets (
                id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                petition_id  bigint NOT NULL REFERENCES petitions (id),
                name         text NOT NULL CHECK (name ~ '^[a-z0-9][a-z0-9-]{0,63}$'),
                title        text NOT NULL,
                kind         text NOT NULL,
                countries    text[],
                transport    text NOT NULL CHECK (transport IN ('webhook', 'email', 'files')),
                address      text NOT NULL,
                secret       text,
                triggers     text[] NOT NULL DEFAULT '{milestone,close}',
                active       boolean NOT NULL DEFAULT true,
                created_at   timestamptz NOT NULL DEFAULT now(),
                UNIQUE (petition_id, name)
            );

            -- One delivery of a package to a target: the signatures of its petition (and countries) with ids in
            -- (after_id, through_id]. through_id is read with new signatures held back for an instant, so no
            -- signature can later appear below it; incremental deliveries of a target follow each other without
            -- gaps or overlap. One row per (target, trigger_key): the same trigger twice is one delivery.
            -- Worked through like the webhook outbox (lease in next_attempt_at, attempts, give-up time).
            CREATE TABLE deliveries (
                id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                target_id        bigint NOT NULL REFERENCES delivery_targets (id),
                trigger_key      text NOT NULL,
                full_range       boolean NOT NULL DEFAULT false,
                after_id         bigint NOT NULL,
                through_id       bigint NOT NULL,
                signatures       bigint,
                counts           jsonb,
                first_signed_at  timestamptz,
                last_signed_at   timestamptz,
                first_id         bigint,
                last_id          bigint,
                csv_sha256       text,
                csv_bytes        bigint,
                built_at         timestamptz,
                state            text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
                attempts         integer NOT NULL DEFAULT 0,
                next_attempt_at  timestamptz NOT NULL DEFAULT now(),
                give_up_at       timestamptz NOT NULL,
                last_status      integer,
                last_error       text,
                created_at       timestamptz NOT NULL DEFAULT now(),
                delivered_at     timestamptz,
                UNIQUE (target_id, trigger_key)
            );
            CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE state = 'pending';
            """),
        Migration(version: 9, name: "blocks, closing time", sql: """
            -- When a petition was closed by hand (for `undersigned anonymise --closed-before`); a petition past
            -- its closes_at counts as closed then.
            ALTER TABLE petitions ADD COLUMN closed_at timestamptz;
            UPDATE petitions SET closed_at = COALESCE(closes_at, now()) WHERE status = 'closed';

            -- Networks and e-mail domains intake refuses (`undersigned block`), until expires_at if set.
            CREATE TABLE blocks (
                kind        text NOT NULL CHECK (kind IN ('network', 'domain')),
                value       text NOT NULL,
                reason      text NOT NULL DEFAULT '',
                created_at  timestamptz NOT NULL DEFAULT now(),
                expires_at  timestamptz,
                PRIMARY KEY (kind, value)
            );
            """),
        Migration(version: 10, name: "e-mail domain rules", sql: """
            -- How each mail provider treats addresses (`undersigned domains`), read by dedup every few seconds:
            -- aliases deliver to the same mailboxes, drop_characters are ignored in the local part, a tag
            -- separator starts a sub-address (jane+petitions@). Seeded with the large consumer providers.
            CREATE TABLE email_domain_rules (
                domain           text PRIMARY KEY,
                aliases          text[] NOT NULL DEFAULT '{}',
                drop_characters  text NOT NULL DEFAULT '',
                tag_separators   text[] NOT NULL DEFAULT '{}',
                updated_at       timestamptz NOT NULL DEFAULT now()
            );
            INSERT INTO email_domain_rules (domain, aliases, drop_characters, tag_separators) VALUES
                ('gmail.com', '{googlemail.com}', '.', '{+}'),
                ('outlook.com', '{}', '', '{+}'),
                ('hotmail.com', '{}', '', '{+}'),
                ('live.com', '{}', '', '{+}'),
                ('icloud.com', '{me.com,mac.com}', '', '{+}'),
                ('proton.me', '{protonmail.com,protonmail.ch,pm.me}', '', '{+}'),
                ('fastmail.com', '{}', '', '{+}'),
                ('yahoo.com', '{}', '', '{-}'),
                ('yandex.ru', '{yandex.com,ya.ru}', '', '{+}');
            """),
        Migration(version: 11, name: "sealed contact addresses", sql: """
            -- The address of a signer who agreed to be contacted, sealed with AES-256-GCM (ContactSealer): key id,
            -- nonce, ciphertext, tag. NULL for everyone else, and after anonymise.
            ALTER TABLE signatures ADD COLUMN contact_email bytea;
            """),
        Migration(version: 12, name: "signer verification", sql: """
            -- A petition may count a signature only once its signer clicked the link e-mailed to them.
            ALTER TABLE petitions ADD COLUMN requires_verification boolean NOT NULL DEFAULT false;
            -- When the signer confirmed (NULL: not yet; only meaningful for petitions that require it).
            ALTER TABLE signatures ADD COLUMN verified_at timestamptz;

            -- Verification mails to send (dedup adds one per new signature of such a petition; delivery sends
            -- them like its other outboxes). expires_at is the link's end; unconfirmed signatures are removed
            -- after it (their row here goes with them).
            CREATE TABLE verification_emails (
                id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                signature_id     bigint NOT NULL UNIQUE REFERENCES signatures (id) ON DELETE CASCADE,
                expires_at       timestamptz NOT NULL,
                state            text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
                attempts         integer NOT NULL DEFAULT 0,
                next_attempt_at  timestamptz NOT NULL DEFAULT now(),
                give_up_at       timestamptz NOT NULL,
                last_status      integer,
                last_error       text,
                created_at       timestamptz NOT NULL DEFAULT now(),
                delivered_at     timestamptz
            );
            CREATE INDEX verification_emails_due ON verification_emails (next_attempt_at) WHERE state = 'pending';
            CREATE INDEX verification_emails_expiry ON verification_emails (expires_at);
            """),
        Migration(version: 13, name: "receipts keyed by partner and envelope", sql: """
            -- Envelope ids are chosen by partners, so two partners may send the same one: a receipt and the
            -- rows refused from an envelope belong to the partner that sent it (before, the second partner's
            -- receipt was dropped and its refused rows were not kept). Rows refused from intake's own
            -- envelopes have no partner.
            ALTER TABLE partner_receipts DROP CONSTRAINT partner_receipts_pkey, ADD PRIMARY KEY (partner, envelope_id);
            ALTER TABLE rejected_signatures DROP CONSTRAINT rejected_signatures_pkey;
            CREATE UNIQUE INDEX rejected_signatures_key ON rejected_signatures (coalesce(partner, ''), envelope_id, position);
            """),
        Migration(version: 14, name: "signing pages: short codes, texts per language and version", sql: """
            -- A short code per petition for the signing page's URL (/s/CODE), short enough for a QR code a
            -- phone reads from the back of a crowd; the language its first text is written in.
            ALTER TABLE petitions ADD COLUMN code text UNIQUE CHECK (code ~ '^[a-z0-9]{3,16}$');
            ALTER TABLE petitions ADD COLUMN language text NOT NULL DEFAULT 'en' CHECK (language ~ '^[a-z]{2,3}$');
            UPDATE petitions SET code = substr(md5(slug || id::text), 1, 6) WHERE code IS NULL;
            ALTER TABLE petitions ALTER COLUMN code SET NOT NULL;

            -- What a signer was shown: a petition's title, text and consent wording in one language. Texts are
            -- never changed: a change is a new row, so a signature's text_id says exactly what its signer read.
            CREATE TABLE petition_texts (
                id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                petition_id  bigint NOT NULL REFERENCES petitions (id) ON DELETE CASCADE,
                language     text NOT NULL CHECK (language ~ '^[a-z]{2,3}$'),
                title        text NOT NULL,
                body         text NOT NULL,
                consent      text NOT NULL,
                created_at   timestamptz NOT NULL DEFAULT now()
            );
            CREATE INDEX petition_texts_by_petition ON petition_texts (petition_id, language, id);
            INSERT INTO petition_texts (petition_id, language, title, body, consent)
            SELECT id, 'en', title, body,
                   'Yes, keep me informed about this campaign by email. I can unsubscribe at any time.'
            FROM petitions ORDER BY id;

            -- The text version and the language each signature was given (NULL: signed before pages existed,
            -- or through a channel that showed no text of ours).
            ALTER TABLE signatures ADD COLUMN text_id bigint, ADD COLUMN language text;
            """),
        Migration(version: 15, name: "partner claims", sql: """
            -- A partner's row whose signer had already signed through another channel is receipted as
            -- accepted (a receipt tells a partner nothing of who signed elsewhere) and remembered here, so the
            -- partner's own later row for the same person is its duplicate, exactly as if its row had been
            -- the one stored. Keys are the same HMACs as in signatures; erase and anonymise remove them.
            CREATE TABLE partner_claims (
                petition_id  bigint NOT NULL REFERENCES petitions (id) ON DELETE CASCADE,
                signer_key   bytea NOT NULL CHECK (length(signer_key) = 32),
                partner      text NOT NULL,
                -- the row that made the claim: the same row again is a redelivery, receipted the same way
                submission_id uuid NOT NULL,
                PRIMARY KEY (petition_id, signer_key, partner)
            );
            """),
        Migration(version: 16, name: "erasures", sql: """
            -- A signer erased (`undersigned erase`): dedup stores none of their signatures signed before the
            -- erase, so one still in a queue or a partner's backlog at that moment never lands after it. The key
            -- is the same HMAC as in signatures; kept 30 days (what can be in flight that long is in a dead
            -- letter, which erase searches), then removed by the next erase or anonymise.
            CREATE TABLE erasures (
                signer_key  bytea PRIMARY KEY CHECK (length(signer_key) = 32),
                erased_at   timestamptz NOT NULL DEFAULT now()
            );
            """),
        Migration(version: 17, name: "signing window, pause", sql: """
            -- When signing opens (before it, intake tells signers when), and since when ops have paused it
            -- (`undersigned petition pause`; NULL: not paused).
            ALTER TABLE petitions ADD COLUMN opens_at timestamptz, ADD COLUMN paused_at timestamptz;
            """),
        Migration(version: 18, name: "switches", sql: """
            -- Optional work ops switch off at run time (`undersigned switch`); a switch not here is on.
            CREATE TABLE switches (
                name        text PRIMARY KEY,
                enabled     boolean NOT NULL,
                changed_at  timestamptz NOT NULL DEFAULT now()
            );
            """),
        Migration(version: 19, name: "channels in the count", sql: """
            -- The channel a signature came in by, from its source: a kiosk (`kiosk:NAME`), paper (`paper:PARTNER`,
            -- a partner's batch of paper forms), a partner (`partner:NAME`), else the web. One definition, used by
            -- tally's counting, recount and erase.
            CREATE FUNCTION signature_channel(source text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
                SELECT CASE WHEN source LIKE 'kiosk:%' THEN 'kiosk' WHEN source = 'paper' OR source LIKE 'paper:%' THEN 'paper'
                            WHEN source LIKE 'partner:%' THEN 'partner' ELSE 'web' END
            $$;
            ALTER TABLE petition_counts ADD COLUMN channel text NOT NULL DEFAULT 'web' CHECK (channel IN ('web', 'kiosk', 'partner', 'paper'));
            ALTER TABLE petition_counts DROP CONSTRAINT petition_counts_pkey;
            -- Counts kept before channels: each petition's and country's count is split by the channels of the
            -- signatures counted; the web keeps the rest, so every total stays what it was.
            CREATE TEMPORARY TABLE counted_by_channel ON COMMIT DROP AS
                SELECT s.petition_id, s.country, signature_channel(s.source) AS channel, count(*)::bigint AS n
                FROM signatures s JOIN tally_counted t ON t.signature_id = s.id
                WHERE signature_channel(s.source) <> 'web' GROUP BY 1, 2, 3;
            CREATE TEMPORARY TABLE counted_before ON COMMIT DROP AS
                SELECT petition_id, country, sum(count)::bigint AS total, max(updated_at) AS updated_at FROM petition_counts GROUP BY 1, 2;
            DELETE FROM petition_counts;
            INSERT INTO petition_counts (petition_id, country, channel, shard, count, updated_at)
            SELECT c.petition_id, c.country, c.channel, 0, c.n, b.updated_at
            FROM counted_by_channel c JOIN counted_before b USING (petition_id, country);
            INSERT INTO petition_counts (petition_id, country, channel, shard, count, updated_at)
            SELECT b.petition_id, b.country, 'web', 0, greatest(0, b.total - coalesce(sum(c.n), 0)), b.updated_at
            FROM counted_before b LEFT JOIN counted_by_channel c USING (petition_id, country)
            GROUP BY b.petition_id, b.country, b.total, b.updated_at;
            ALTER TABLE petition_counts ADD PRIMARY KEY (petition_id, country, channel, shard);
            -- When each signature was counted: the report's accept-to-count lag.
            ALTER TABLE tally_counted ADD COLUMN counted_at timestamptz NOT NULL DEFAULT now();
            """),
        Migration(version: 20, name: "rehearsals", sql: """
            -- A rehearsal (`undersigned petition rehearse SLUG on`): while `rehearsing`, intake takes the petition's
            -- signatures for its rehearsal petition (rehearsal_of = the real one): the whole pipeline, its own
            -- signers, counts and milestones, never the real count's, never a partner's, never delivered.
            ALTER TABLE petitions ADD COLUMN rehearsal_of bigint UNIQUE REFERENCES petitions (id) ON DELETE CASCADE,
                ADD COLUMN rehearsing boolean NOT NULL DEFAULT false;
            -- Signatures erased from its count (`undersigned erase`): screens take a smaller count only when this
            -- says why (a count never goes backwards otherwise).
            ALTER TABLE petitions ADD COLUMN erased bigint NOT NULL DEFAULT 0;
            """),
        Migration(version: 21, name: "the call's history", sql: """
            -- Signatures counted per minute, for the petition's whole life: tally folds its 10-second buckets
            -- in here once they are an hour old (the report and the count API's history read both).
            CREATE TABLE count_minutes (
                petition_id  bigint NOT NULL REFERENCES petitions (id) ON DELETE CASCADE,
                minute       timestamptz NOT NULL,
                count        bigint NOT NULL,
                PRIMARY KEY (petition_id, minute)
            );
            -- What was turned away, per petition, minute and reason: duplicates (dedup, with its batch) and
            -- intake's refusals (invalid fields, limits, not open, paused; each instance adds its own every
            -- few seconds). Nothing of the signer.
            CREATE TABLE refusal_minutes (
                petition_id  bigint NOT NULL REFERENCES petitions (id) ON DELETE CASCADE,
                minute       timestamptz NOT NULL,
                reason       text NOT NULL CHECK (length(reason) <= 64),
                count        bigint NOT NULL,
                PRIMARY KEY (petition_id, minute, reason)
            );
            """),
        Migration(version: 22, name: "kiosks", sql: """
            -- Devices that take signatures at a venue (`undersigned kiosk add NAME`): the token is shown once
            -- and only its SHA-256 is kept. A kiosk's signatures have source `kiosk:NAME` and pass the
            -- per-address limit (a festival's Wi-Fi is one address); a revoked kiosk is refused.
            CREATE TABLE kiosks (
                name        text PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9-]{0,31}$'),
                token_hash  bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
                created_at  timestamptz NOT NULL DEFAULT now(),
                revoked_at  timestamptz
            );
            """),
    ])
}
