"""faultdesk domain: tickets, people, assets, SLA clocks, audit and outbox."""
