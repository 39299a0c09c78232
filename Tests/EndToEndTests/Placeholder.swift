// The walking skeleton end to end lives here.
