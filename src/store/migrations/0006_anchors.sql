-- Lost answers (issue 18). What each attempt was made after, to settle a POST whose answer was
-- lost against the API's list of calls: the newest call known to exist when it was committed
-- ('' when the account had none; NULL for attempts of earlier versions), and the real time it
-- was committed at (instants elsewhere follow the campaign's clock, which runs fast in a
-- rehearsal; how long a lost POST may still take effect is counted in both).
ALTER TABLE attempts ADD COLUMN anchor TEXT;
ALTER TABLE attempts ADD COLUMN created_wall INTEGER;
