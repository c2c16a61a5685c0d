"""The three books' public JSON APIs: one module per book, sharing one HTTP layer and one set of records."""
