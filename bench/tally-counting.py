#!/usr/bin/env python3
"""Tally's counting statement with channels (today's) against the one before channels, in one run on one
database: the same 100,000 signatures (web, kiosk, partner and paper sources, 20 countries) counted in
batches of 500 events, each variant three times in turn from an empty tally_counted, the one before channels
writing to a copy of its counter table (petition, country, shard). Prints the median time per batch of each
and their ratio.

    bench/tally-counting.py postgresql://undersigned@127.0.0.1:5432/bench_tally   # a database `undersigned migrate` made
"""
import random
import statistics
import subprocess
import sys
import tempfile
import time

URL = sys.argv[1]
SIGNATURES, BATCH, ROUNDS = 100_000, 500, 3
COUNTRIES = ["NL", "DE", "FR", "GB", "KE", "BR", "IN", "US", "ES", "IT", "PT", "SE", "NO", "PL", "NG", "ZA", "MX", "AR", "JP", "AU"]

PROBE = {
    "before": "SELECT 1 FROM signatures s WHERE s.id = t.signature_id AND s.petition_id = p.id AND s.country = t.country LIMIT 1",
    "channels": "SELECT signature_channel(s.source) AS channel FROM signatures s WHERE s.id = t.signature_id AND s.petition_id = p.id "
                "AND s.country = t.country LIMIT 1",
}
COUNT = {
    "before": """
WITH input AS (
    SELECT t.signature_id, t.petition, t.country FROM unnest('{ids}'::bigint[], '{slugs}'::text[], '{countries}'::text[]) AS t(signature_id, petition, country)
    JOIN petitions p ON p.slug = t.petition CROSS JOIN LATERAL ({probe}) AS stored
), counted AS (
    INSERT INTO tally_counted (signature_id) SELECT signature_id FROM input ORDER BY signature_id ON CONFLICT DO NOTHING RETURNING signature_id
), delta AS (
    SELECT p.id AS petition_id, i.country, count(*) AS n FROM counted c JOIN input i USING (signature_id) JOIN petitions p ON p.slug = i.petition
    GROUP BY p.id, i.country
), bumped AS (
    INSERT INTO counts_before (petition_id, country, shard, count) SELECT petition_id, country, 0, n FROM delta ORDER BY petition_id, country
    ON CONFLICT (petition_id, country, shard) DO UPDATE SET count = counts_before.count + EXCLUDED.count, updated_at = now() RETURNING petition_id
)
SELECT DISTINCT petition_id FROM bumped;""",
    "channels": """
WITH input AS (
    SELECT t.signature_id, t.petition, t.country, stored.channel FROM unnest('{ids}'::bigint[], '{slugs}'::text[], '{countries}'::text[])
        AS t(signature_id, petition, country)
    JOIN petitions p ON p.slug = t.petition CROSS JOIN LATERAL ({probe}) AS stored
), counted AS (
    INSERT INTO tally_counted (signature_id) SELECT signature_id FROM input ORDER BY signature_id ON CONFLICT DO NOTHING RETURNING signature_id
), delta AS (
    SELECT p.id AS petition_id, i.country, i.channel, count(*) AS n FROM counted c JOIN input i USING (signature_id)
    JOIN petitions p ON p.slug = i.petition GROUP BY p.id, i.country, i.channel
), bumped AS (
    INSERT INTO petition_counts (petition_id, country, channel, shard, count) SELECT petition_id, country, channel, 0, n FROM delta
    ORDER BY petition_id, country, channel
    ON CONFLICT (petition_id, country, channel, shard) DO UPDATE SET count = petition_counts.count + EXCLUDED.count, updated_at = now()
    RETURNING petition_id
)
SELECT DISTINCT petition_id FROM bumped;""",
}


def psql(sql, file=None):
    args = ["psql", URL, "-qAtX", "-v", "ON_ERROR_STOP=1"] + (["-f", file] if file else ["-c", sql])
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def main():
    psql("""
        DELETE FROM tally_counted; DELETE FROM petition_counts; DELETE FROM signatures; DELETE FROM petitions WHERE slug = 'bench-tally';
        INSERT INTO petitions (slug, title, code) VALUES ('bench-tally', 'Bench', 'benchtally');
        CREATE TABLE IF NOT EXISTS counts_before (petition_id bigint, country char(2), shard smallint, count bigint,
            updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (petition_id, country, shard));
        """)
    psql(f"""
        INSERT INTO signatures (petition_id, signer_key, submission_id, name, country, source, signed_at)
        SELECT p.id, sha256(i::text::bytea), gen_random_uuid(), 'Bench', (ARRAY{COUNTRIES})[1 + i % 20],
               CASE WHEN i % 20 < 14 THEN 'web' WHEN i % 20 < 16 THEN 'kiosk:gate-' || (i % 3) WHEN i % 20 < 19 THEN 'partner:acme'
                    ELSE 'paper:acme' END, now()
        FROM petitions p, generate_series(1, {SIGNATURES}) AS i WHERE p.slug = 'bench-tally';
        ANALYZE signatures;
        """)
    rows = [line.split("|") for line in psql("SELECT id, country FROM signatures ORDER BY random()").splitlines()]
    random.seed(1)
    batches = [rows[i:i + BATCH] for i in range(0, len(rows), BATCH)]
    times = {"before": [], "channels": []}
    for round_ in range(ROUNDS):
        for variant in ("before", "channels") if round_ % 2 == 0 else ("channels", "before"):
            psql("DELETE FROM tally_counted; DELETE FROM petition_counts; DELETE FROM counts_before;")
            psql("VACUUM ANALYZE tally_counted")  # not in the transaction psql -c makes of several statements
            with tempfile.NamedTemporaryFile("w", suffix=".sql") as script:
                for batch in batches:
                    script.write("BEGIN;\n" + COUNT[variant].format(
                        ids="{" + ",".join(r[0] for r in batch) + "}", slugs="{" + ",".join("bench-tally" for _ in batch) + "}",
                        countries="{" + ",".join(r[1] for r in batch) + "}", probe=PROBE[variant]) + "\nCOMMIT;\n")
                script.flush()
                started = time.monotonic()
                psql(None, file=script.name)
                elapsed = time.monotonic() - started
            times[variant].append(elapsed / len(batches) * 1000)
            counted = psql("SELECT count(*) FROM tally_counted").strip()
            assert counted == str(SIGNATURES), counted
            print(f"round {round_ + 1} {variant:9} {elapsed:6.2f} s for {len(batches)} batches ({times[variant][-1]:.2f} ms a batch)", flush=True)
    before, channels = statistics.median(times["before"]), statistics.median(times["channels"])
    print(f"median per batch of {BATCH}: before channels {before:.2f} ms, with channels {channels:.2f} ms; "
          f"ratio {channels / before:.3f} (events/s: {BATCH / before * 1000:,.0f} -> {BATCH / channels * 1000:,.0f})")
    psql("DROP TABLE counts_before; DELETE FROM tally_counted; DELETE FROM petition_counts; DELETE FROM signatures; "
         "DELETE FROM petitions WHERE slug = 'bench-tally'")


if __name__ == "__main__":
    main()
