-- Lists filtered by one stage (and a tier) read their page newest first.
-- With only (tenant, stage) and (tenant, stage, tier) to choose from,
-- PostgreSQL walks leads_tenant_created newest first and filters, which is
-- fast while matching leads are spread evenly over time, and not once they
-- are not: after a 100,000-row CSV import of `new` leads into a 1M-lead
-- tenant, `?stage=qualified&tier=hot` stepped over the 190,000 newest leads
-- first (460 ms per page; bench/README.md, "Leads"). This index hands out a
-- stage's leads already in page order, whatever the others' dates; the tier
-- is a filter on it (about one lead in three matches any tier).
-- It also serves everything leads_tenant_stage did (its leading columns),
-- which goes.
--
-- Build time: ~2 s per million leads, under a lock that blocks writes to
-- leads.leads (not reads) meanwhile.
CREATE INDEX leads_tenant_stage_created ON leads.leads (tenant, stage, created_at DESC, id DESC)
  WHERE deleted_at IS NULL;
DROP INDEX leads.leads_tenant_stage;
