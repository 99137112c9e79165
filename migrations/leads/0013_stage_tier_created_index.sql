-- Lists filtered by a stage and a tier (the board's chips) read their page
-- newest first. 0012's (tenant, stage, created_at) index hands out a stage in
-- page order with the tier as a filter, which holds while tiers are spread
-- evenly over time and not once they are not: a CSV import leaves its leads
-- in `new` without a tier, and after a 100,000-row import into a 1M-lead
-- tenant `?stage=new&tier=hot` stepped over the 94,000 imported leads first
-- (144 ms per page, 88 ms p50 through the API at 8 connections;
-- bench/README.md, "Leads"). With the tier in the key before the dates, a
-- stage + tier page is read in order whatever the other leads' dates.
-- It serves every (tenant, stage, tier) lookup leads_tenant_stage_tier did
-- (its leading columns), which goes.
--
-- Build time: ~2 s per million leads, under a lock that blocks writes to
-- leads.leads (not reads) meanwhile.
CREATE INDEX leads_tenant_stage_tier_created ON leads.leads (tenant, stage, tier, created_at DESC, id DESC)
  WHERE deleted_at IS NULL;
DROP INDEX leads.leads_tenant_stage_tier;
