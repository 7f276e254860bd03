-- Roles for a shared evalgate store that pull requests from forks also use (docs/security.md).
--
--   psql "$OWNER_URL" -v ci_role=evalgate_ci -v pr_role=evalgate_pr -v trusted="'main','master'" \
--        -f scripts/postgres-roles.sql
--
-- Run it as the owner of the database, after evalgate has created its tables (any run with the
-- owner's URL does). The two roles must exist (CREATE ROLE … LOGIN PASSWORD …). Then:
--   :ci_role  — main's CI, which also holds EVALGATE_STORE_KEY: reads and writes everything;
--   :pr_role  — pull requests (no key): reads every row, writes rows only under refs that are
--               not trusted, so nothing it writes can pass for main's.
-- Row-level security applies to every role but the tables' owner.

GRANT USAGE ON SCHEMA public TO :ci_role, :pr_role;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO :ci_role;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO :pr_role;
GRANT INSERT, UPDATE ON cache, results, runs, run_suites, judgements, suite_unions, suite_maps, deps TO :pr_role;

-- Tables whose rows carry their writer's ref.
ALTER TABLE cache ENABLE ROW LEVEL SECURITY;
ALTER TABLE judgements ENABLE ROW LEVEL SECURITY;
ALTER TABLE suite_unions ENABLE ROW LEVEL SECURITY;
ALTER TABLE suite_maps ENABLE ROW LEVEL SECURITY;
ALTER TABLE runs ENABLE ROW LEVEL SECURITY;
CREATE POLICY everyone_reads ON cache FOR SELECT USING (true);
CREATE POLICY everyone_reads ON judgements FOR SELECT USING (true);
CREATE POLICY everyone_reads ON suite_unions FOR SELECT USING (true);
CREATE POLICY everyone_reads ON suite_maps FOR SELECT USING (true);
CREATE POLICY everyone_reads ON runs FOR SELECT USING (true);
CREATE POLICY ci_writes ON cache FOR ALL TO :ci_role USING (true) WITH CHECK (true);
CREATE POLICY ci_writes ON judgements FOR ALL TO :ci_role USING (true) WITH CHECK (true);
CREATE POLICY ci_writes ON suite_unions FOR ALL TO :ci_role USING (true) WITH CHECK (true);
CREATE POLICY ci_writes ON suite_maps FOR ALL TO :ci_role USING (true) WITH CHECK (true);
CREATE POLICY ci_writes ON runs FOR ALL TO :ci_role USING (true) WITH CHECK (true);
CREATE POLICY untrusted_refs_only ON cache FOR INSERT TO :pr_role WITH CHECK (ref NOT IN (:trusted));
CREATE POLICY untrusted_refs_only ON judgements FOR INSERT TO :pr_role WITH CHECK (ref NOT IN (:trusted));
CREATE POLICY untrusted_refs_only ON suite_unions FOR INSERT TO :pr_role WITH CHECK (ref NOT IN (:trusted));
CREATE POLICY untrusted_refs_only ON suite_maps FOR INSERT TO :pr_role WITH CHECK (ref NOT IN (:trusted));
CREATE POLICY untrusted_refs_only ON runs FOR INSERT TO :pr_role WITH CHECK (ref NOT IN (:trusted));
CREATE POLICY untrusted_refs_update ON cache FOR UPDATE TO :pr_role USING (ref NOT IN (:trusted)) WITH CHECK (ref NOT IN (:trusted));
CREATE POLICY untrusted_refs_update ON judgements FOR UPDATE TO :pr_role USING (ref NOT IN (:trusted)) WITH CHECK (ref NOT IN (:trusted));
CREATE POLICY untrusted_refs_update ON suite_unions FOR UPDATE TO :pr_role USING (ref NOT IN (:trusted)) WITH CHECK (ref NOT IN (:trusted));
CREATE POLICY untrusted_refs_update ON suite_maps FOR UPDATE TO :pr_role USING (ref NOT IN (:trusted)) WITH CHECK (ref NOT IN (:trusted));
CREATE POLICY untrusted_refs_update ON runs FOR UPDATE TO :pr_role USING (ref NOT IN (:trusted)) WITH CHECK (ref NOT IN (:trusted));

-- Tables whose rows belong to a run: writable only for runs of an untrusted ref.
ALTER TABLE results ENABLE ROW LEVEL SECURITY;
ALTER TABLE run_suites ENABLE ROW LEVEL SECURITY;
CREATE POLICY everyone_reads ON results FOR SELECT USING (true);
CREATE POLICY everyone_reads ON run_suites FOR SELECT USING (true);
CREATE POLICY ci_writes ON results FOR ALL TO :ci_role USING (true) WITH CHECK (true);
CREATE POLICY ci_writes ON run_suites FOR ALL TO :ci_role USING (true) WITH CHECK (true);
CREATE POLICY own_runs ON results FOR INSERT TO :pr_role
    WITH CHECK (EXISTS (SELECT 1 FROM runs WHERE runs.run_id = results.run_id AND runs.ref NOT IN (:trusted)));
CREATE POLICY own_runs_update ON results FOR UPDATE TO :pr_role
    USING (EXISTS (SELECT 1 FROM runs WHERE runs.run_id = results.run_id AND runs.ref NOT IN (:trusted)));
CREATE POLICY own_runs ON run_suites FOR INSERT TO :pr_role
    WITH CHECK (EXISTS (SELECT 1 FROM runs WHERE runs.run_id = run_suites.run_id AND runs.ref NOT IN (:trusted)));
CREATE POLICY own_runs_update ON run_suites FOR UPDATE TO :pr_role
    USING (EXISTS (SELECT 1 FROM runs WHERE runs.run_id = run_suites.run_id AND runs.ref NOT IN (:trusted)));
-- deps rows are content-addressed (their id is the digest of their content): a forged one is
-- ignored by every reader, so both roles may add them.
