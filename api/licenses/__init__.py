"""电子证照 wallet: licences, show/verify QR tokens, authorised use, use records, expiry."""
