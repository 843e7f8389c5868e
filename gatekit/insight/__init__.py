"""What gatekit already recorded, read back for people: reports, graphs, metrics, trends."""
