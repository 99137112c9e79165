-- Vendor lead API keys (POST /api/v1/vendor/leads, header X-Api-Key).
-- Only the SHA-256 of a key is stored; the key itself is shown once by
-- `leadctl vendor key create` and cannot be recovered. Each key is scoped to
-- one tenant and one vendor: the vendor name in the events comes from here,
-- never from the payload.
CREATE TABLE vendor_api_keys (
  id             uuid PRIMARY KEY,
  tenant         text NOT NULL,
  vendor         text NOT NULL,
  key_hash       text NOT NULL UNIQUE CHECK (key_hash ~ '^[0-9a-f]{64}$'),
  key_prefix     text NOT NULL,            -- first characters, to recognise a key in lists
  default_region text CHECK (default_region ~ '^[A-Z]{2}$'),  -- phones without a country code
  created_at     timestamptz NOT NULL DEFAULT now(),
  revoked_at     timestamptz
);
CREATE INDEX vendor_api_keys_tenant ON vendor_api_keys (tenant, vendor);
