"""The outbox: what we send is recorded (as `OutboundMessage` rows) in the transaction
that decided to send it, then handed to its channel's carrier by a `Dispatcher`."""
