-- Calling windows (issue 5). Columns only: existing rows read NULL until their next import or step.
-- Where the contact's `timezone` came from: column | number | default.
ALTER TABLE contacts ADD COLUMN tz_source TEXT;
-- Why a pending contact's `due_at` lies in the future: retry | window | campaign | backoff.
-- NULL when it is due as soon as the limits allow.
ALTER TABLE contacts ADD COLUMN wait TEXT;
