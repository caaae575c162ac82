-- Deadlines (issue 19). When calls stop for a contact: its `input.deadline_column` less
-- `schedule.stop_before`, in milliseconds; NULL without a deadline. Set at every import (an
-- edited deadline moves it). States `expired` and `removed` need no schema: states are TEXT.
ALTER TABLE contacts ADD COLUMN cutoff_at INTEGER;
