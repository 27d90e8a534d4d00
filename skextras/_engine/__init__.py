"""The histogram tree engine (private): binning, histograms, split finding, growing, trees."""
