-- Merging duplicate leads (POST /api/v1/leads/{id}/merge): an absorbed lead is
-- soft-deleted and points at the lead it was merged into, so an id a client
-- or another service still holds can be followed to the survivor.
ALTER TABLE leads ADD COLUMN merged_into uuid REFERENCES leads (id);
CREATE INDEX leads_merged_into ON leads (merged_into) WHERE merged_into IS NOT NULL;
