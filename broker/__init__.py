"""Broker adapters behind `supervisor.port.BrokerPort`, and the command line that runs them."""
