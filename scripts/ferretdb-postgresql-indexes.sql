-- Indexes that let PostgreSQL serve the service's lookups when it runs on FerretDB 1.24.
--
-- FerretDB 1.24 turns a filter such as { _id: X } into `_jsonb -> $1 @> $2` (a jsonb containment
-- test on one field). The btree indexes it creates itself (on `_jsonb -> '_id'`) cannot serve `@>`,
-- so without these every find by _id reads the whole table: 3 ms with 10 sessions, 19 ms with
-- 10,000 (bench/NOTES.md). A GIN index on the same expression can, and PostgreSQL uses it for each
-- such query. FerretDB does not know these indexes exist, which is harmless: they go with their
-- table when FerretDB drops or renames a collection (then run this again).
--
-- Run it once per MongoDB database of the service, after the service has started once (it creates
-- the collections), against FerretDB's PostgreSQL database, as a role that owns its tables:
--
--   psql "postgres://user@host:5432/ferretdb" -v db=voice_interviews -f scripts/ferretdb-postgresql-indexes.sql
--
-- It can be run again at any time; existing indexes are kept. Each index is built CONCURRENTLY, so
-- the service keeps writing while it is built.
\set ON_ERROR_STOP on

SELECT format('CREATE INDEX CONCURRENTLY IF NOT EXISTS %I ON %I.%I USING gin (%s jsonb_path_ops)',
              left(m._jsonb ->> 'table', 45) || '_gin_' || w.suffix, :'db', m._jsonb ->> 'table', w.expr)
FROM (VALUES
    ('interview_sessions', $$(_jsonb -> '_id')$$, 'id'),
    ('interview_sessions', $$(_jsonb -> 'user_id')$$, 'user_id'),
    ('fs.files', $$(_jsonb -> '_id')$$, 'id'),
    ('fs.files', $$(_jsonb #> '{metadata,session_id}')$$, 'session_id'),
    ('fs.chunks', $$(_jsonb -> 'files_id')$$, 'files_id'),
    ('webhook_deliveries', $$(_jsonb -> '_id')$$, 'id'),
    ('webhook_deliveries', $$(_jsonb -> 'session_id')$$, 'session_id'),
    ('document_locks', $$(_jsonb -> '_id')$$, 'id'),
    ('job_leases', $$(_jsonb -> '_id')$$, 'id')
  ) AS w(collection, expr, suffix)
-- FerretDB's own record of which table holds which collection
JOIN :"db"._ferretdb_database_metadata AS m ON m._jsonb ->> '_id' = w.collection
\gexec
