/**
 * Tenant names: channel keys are `tenant:channel`, so a tenant name must never contain ':'
 * (or anything else that could make two tenants' keys meet).
 */
export const TENANT_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
export const TENANT_NAME_RULE = 'tenant names are 1-64 of A-Z a-z 0-9 _ . -';
