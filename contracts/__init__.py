"""Event contracts, one module per producer: each event's name, version, fields and an
example. The producer builds its events with them; consumers load them with them."""
