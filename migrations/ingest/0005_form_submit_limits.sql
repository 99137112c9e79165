-- Campaign-form submit attempts per phone and per client IP, for the submit
-- rate limit (INGEST_FORM_SUBMIT_WINDOW_S / _MAX_PER_PHONE / _MAX_PER_IP).
-- Written with the gateway's clock; rows older than the window are pruned by
-- the gateway when the same subject submits again.
CREATE TABLE form_submits (
  id           bigserial PRIMARY KEY,
  tenant       text NOT NULL,
  scope        text NOT NULL CHECK (scope IN ('phone', 'ip')),
  subject      text NOT NULL,
  submitted_at timestamptz NOT NULL
);
CREATE INDEX form_submits_subject ON form_submits (tenant, scope, subject, submitted_at);
