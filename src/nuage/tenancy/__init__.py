"""TEN: the operator, partners and final customers, their branding, orders and scopes."""
