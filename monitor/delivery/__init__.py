"""From event to message: routes, the notifier contract and registry, message templates, phone
numbers, the durable outbox with its store and rate limits."""
