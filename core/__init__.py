"""The ground floor: what every layer (inference, db, handlers, bot) shares. It imports
nothing of the project, so any layer may import it."""
