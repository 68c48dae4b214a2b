"""A library, no service: what payment and ledger both read and write for the bank.

Statement parsers (CAMT.053, OFX, CFONB 120, the banks' CSV exports), and the checks and
files of SEPA. It knows no service and no database: a service hands it bytes and gets
plain values back, so neither the payment nor the ledger service imports the other.
"""
