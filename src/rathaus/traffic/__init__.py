"""Traffic counts of the city (issue 6): calendar features, gap filling and its masked-gap backtest."""
