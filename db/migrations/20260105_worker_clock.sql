-- What each worker last measured of its clock against VALR's (issue 14, item 3). A worker whose
-- signed request VALR refused re-checks VALR's clock; while it is off (clock_refused_at set) it
-- places nothing (orders stay pending) and the `clock_skew` alert names the cause.
ALTER TABLE lth_pvr.workers
    ADD COLUMN clock_skew_s numeric,
    ADD COLUMN clock_checked_at timestamptz,
    ADD COLUMN clock_refused_at timestamptz;
