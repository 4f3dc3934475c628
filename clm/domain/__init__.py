"""The domain layer: what clm decides. Functions take a Connection and plain values."""
