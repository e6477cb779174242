-- What an operator's hand-typed SQL may no longer do silently (issue 14, item 5).
-- Non-finite quantities and prices ('Infinity', 'NaN' — numeric accepts both, and both pass
-- "> 0") are refused by name; absurd ones by the insert rules (order_value_max on price × qty; VALR's
-- own pair maximums are the pair rules').
ALTER TABLE lth_pvr.exchange_orders
    ADD CONSTRAINT qty_must_be_finite CHECK (qty < 'Infinity'),
    ADD CONSTRAINT price_must_be_finite CHECK (price < 'Infinity');

INSERT INTO lth_pvr.settings (name, value, description) VALUES
    ('order_value_max', 1000000000000,
     'an inserted order whose price x qty exceeds this is refused as absurd (order_value_must_be_plausible)');
