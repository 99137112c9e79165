-- ingest-gateway: channel configuration. No business state lives here.

-- WhatsApp Business numbers → tenant. Managed with `leadctl whatsapp map`.
CREATE TABLE whatsapp_numbers (
  phone_number_id      text PRIMARY KEY,
  tenant               text NOT NULL,
  display_phone_number text,
  created_at           timestamptz NOT NULL DEFAULT now(),
  updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX whatsapp_numbers_tenant ON whatsapp_numbers (tenant);
