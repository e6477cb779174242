-- VALR answers a placement with 202 ("accepted, not yet placed"): an open-orders list taken in the
-- next moment may not show the order yet. Such a list only calls an order missing once it was
-- submitted this long before the list was read; the next list or the safety net covers the rest.
INSERT INTO lth_pvr.settings (name, value, description) VALUES
    ('open_list_grace_seconds', 5,
     'an open-orders list calls a submitted order missing only if it was submitted this long before');
