-- CSV import (lead-store, issue 5): fields a CSV brings that captures do not,
-- and the record of every import batch with the outcome of each row.

-- Which intake (academic) year the lead is for, e.g. "2027".
ALTER TABLE leads ADD COLUMN IF NOT EXISTS session_year text;
-- Free labels on a lead ("expo-jakarta"); a GIN index serves `tags @> ARRAY[…]`.
ALTER TABLE leads ADD COLUMN IF NOT EXISTS tags text[] NOT NULL DEFAULT '{}';
-- Columns an import brought that the lead has no field for (column → value).
ALTER TABLE leads ADD COLUMN IF NOT EXISTS extra jsonb NOT NULL DEFAULT '{}';
CREATE INDEX IF NOT EXISTS leads_tags ON leads USING gin (tags);

CREATE TABLE import_batches (
  id          uuid PRIMARY KEY,
  tenant      text NOT NULL,
  created_by  text NOT NULL,            -- JWT sub of the uploader
  options     jsonb NOT NULL,           -- mapping, default region, tags, owner, on_existing
  total       integer NOT NULL,
  inserted    integer NOT NULL,
  updated     integer NOT NULL,
  duplicates  integer NOT NULL,
  invalid     integer NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX import_batches_tenant ON import_batches (tenant, created_at DESC);

-- One row per data row of the file (1 = the first row after the header).
CREATE TABLE import_rows (
  batch_id  uuid NOT NULL REFERENCES import_batches (id),
  row_no    integer NOT NULL,
  status    text NOT NULL,               -- inserted | updated | duplicate | invalid
  reason    text,
  lead_id   uuid,
  PRIMARY KEY (batch_id, row_no)
);
