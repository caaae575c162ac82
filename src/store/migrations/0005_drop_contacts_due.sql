-- Every change of a contact's state moved its entry in each index on `state`, and each moved
-- entry is a page written to the WAL. `contacts_next` (0002) answers the runner's one hot
-- query; `contacts_due` served only `status` counts and start-of-run updates, which read the
-- table whole in milliseconds. Dropping it saves two of the ~12 pages a placement writes.
DROP INDEX contacts_due;
