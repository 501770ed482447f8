"""The bottom layer: errors, codes, models, settings, text normalisation and sniffing. Imports no other layer."""
