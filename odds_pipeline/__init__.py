"""odds_pipeline: BetPawa's football odds against SportyBet and Bet9ja, batch by batch."""
