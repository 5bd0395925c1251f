//! What a client sees from the geo commands.
