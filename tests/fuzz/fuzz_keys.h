/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Fixed test keys and certificates for the svmigd fuzz harnesses and their
 * seed generator (gen_seeds.c).  They are throwaway test material, made
 * once with the openssl command line (P-256 unless named RSA, valid from
 * 2026-12-07 for 100 years): fixed so that the checked-in seeds, signed
 * with them, still verify in every later run and the harnesses stay
 * deterministic.  Never use them for anything else.
 *
 *   ca    operator CA (request trust anchor) and policy authority
 *   op    operator "alice", issued by ca; also the audit log's host key
 *   rsa   operator "bob", RSA-2048, issued by ca
 *   ak    the attestation key whose signature the TPM verifiers check
 */
#ifndef SVMIG_FUZZ_KEYS_H
#define SVMIG_FUZZ_KEYS_H

/* "now" for every harness: 2027-01-15, inside the certificates' validity. */
#define FUZZ_NOW	1800000000LL

static const char fuzz_ca_key_pem[] =
	"-----BEGIN EC PRIVATE KEY-----\n"
	"MHcCAQEEICIlsmMzz0nrg0TaHAcfd1zksK/6uQ+hsR/aIUYU7qtMoAoGCCqGSM49\n"
	"AwEHoUQDQgAEtF/426pb9x7U9DgJpBOLx3YMGQbi8At0ekHh0kA7fMIBUleZdNmC\n"
	"F6H4OCTtG21iNE+I5CAjwrXJlNoFIlu6Xw==\n"
	"-----END EC PRIVATE KEY-----\n";

static const char fuzz_ca_cert_pem[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIBijCCATCgAwIBAgIBATAKBggqhkjOPQQDAjAbMRkwFwYDVQQDDBBmdXp6LW9w\n"
	"ZXJhdG9yLWNhMCAXDTI2MTIwNzEyMDk0OFoYDzIxMjYxMTEzMTIwOTQ4WjAbMRkw\n"
	"FwYDVQQDDBBmdXp6LW9wZXJhdG9yLWNhMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcD\n"
	"QgAEtF/426pb9x7U9DgJpBOLx3YMGQbi8At0ekHh0kA7fMIBUleZdNmCF6H4OCTt\n"
	"G21iNE+I5CAjwrXJlNoFIlu6X6NjMGEwHQYDVR0OBBYEFBg557zFJTDR83vReD7l\n"
	"1ZmozjyLMB8GA1UdIwQYMBaAFBg557zFJTDR83vReD7l1ZmozjyLMA8GA1UdEwEB\n"
	"/wQFMAMBAf8wDgYDVR0PAQH/BAQDAgEGMAoGCCqGSM49BAMCA0gAMEUCIDgQbQVX\n"
	"2Qip1o5WKnATcIilhQ9GYp6DCFDAJGwn0XXcAiEAjPY9cQipbWmsWwfvjEJRXYwE\n"
	"Wd/P8YBJPMuMTaHVp58=\n"
	"-----END CERTIFICATE-----\n";

static const char fuzz_op_key_pem[] =
	"-----BEGIN EC PRIVATE KEY-----\n"
	"MHcCAQEEIDEW0Lhz6dO39Zcue3tkU1Yfuw2uRPct/XH0v1spksoZoAoGCCqGSM49\n"
	"AwEHoUQDQgAENu48Ymxb486Wp4qoqKnna8KnjrF+tleS+cBOJcdM9Hv6bt/BvNSD\n"
	"K3SkqRt6HRAXQTS8BrnbhhyesVwVVnDskA==\n"
	"-----END EC PRIVATE KEY-----\n";

static const char fuzz_op_cert_pem[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIBfjCCASSgAwIBAgIBAjAKBggqhkjOPQQDAjAbMRkwFwYDVQQDDBBmdXp6LW9w\n"
	"ZXJhdG9yLWNhMCAXDTI2MTIwNzEyMDk0OFoYDzIxMjYxMTEzMTIwOTQ4WjAQMQ4w\n"
	"DAYDVQQDDAVhbGljZTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABDbuPGJsW+PO\n"
	"lqeKqKip52vCp46xfrZXkvnATiXHTPR7+m7fwbzUgyt0pKkbeh0QF0E0vAa524Yc\n"
	"nrFcFVZw7JCjYjBgMAwGA1UdEwEB/wQCMAAwEAYDVR0RBAkwB4IFYWxpY2UwHQYD\n"
	"VR0OBBYEFBccpn7bfnwMp0Bq4WpB3kU/FdXRMB8GA1UdIwQYMBaAFBg557zFJTDR\n"
	"83vReD7l1ZmozjyLMAoGCCqGSM49BAMCA0gAMEUCIEHijGRO99rz24E2BGeq8AwA\n"
	"b5i/T3FySsmKt+b1JhfPAiEA4oae930DRba360ltOEguPfW77WhIWGAGbmSF+VIa\n"
	"MgQ=\n"
	"-----END CERTIFICATE-----\n";

static const char fuzz_rsa_key_pem[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDRzIX1THlCKGjW\n"
	"nZSdq2oRIduq9jmRPhJp2lHZTOpTqzheMx38cP2ds/ybthyClsSs2W17qe3fbGP5\n"
	"3zeEftgnTv0uqKXoKNroyaxuZHuEmaZ+K3yAs+bddl5KAXd1nTbxrUKioMhl71ZV\n"
	"yt07wNBdQvK5R84+lwfoBVQfRkA0UIXkh1StYSV2mhGUcI1bJDFvHC1bFD368AdG\n"
	"3Lk/Ceitff9PuEgy+XXoWgUAHix9Rv3iGm5fetdAAVAXw2y1phCHBEpqXbjuC2wn\n"
	"KuD+0ro/LZXv37INehP72GXs1gNEdUDkzSkufcD5IHjf75wpTnp5Gm965M9w9cU8\n"
	"x0EFtcs1AgMBAAECggEAC7IYp6+fNOp2ybwYLGABdjoKenHmjKvGsAL9PB13FLn/\n"
	"VvUHj2qnINMHWpDg7wDDrxUh7tpuyd1Lh4MDn83IdAyJvb+mHBam+YJArBjK7/32\n"
	"06LN+ojM7nyqTfrd838TsI5loBZRhak9iWPZSHr7wq84Q872dvPJe4xMf7/VVXUr\n"
	"2I5EAwtdrflMPd+al/i5bZ3ePSPS3L5pUgbNBtityHb6tDIBSAwnIseBL0ZgtRcJ\n"
	"fepCu3viuIccp3yd4/rDV3PxqMs2vgvvenSDYtk54U6wDoSqIZpQaFno+DdOIXoV\n"
	"Bz2hD6r4wWQRQCX5dZP6YRf6JccL+SCXtTksoqniYwKBgQD1BcZMtJ08ZPeBwOYh\n"
	"vqMRFyAtojvwqJ0wkNuDXyC/lwCSh4Uy1RdXMHYwxPtxdsoOqZj3dwCy7DYfhFS0\n"
	"yvpDsopjoNe9hTfXoE/Hvi4VdtxlNjrDNcP32GsXi7G+3p0YFZFHl9YNPi2jVQYU\n"
	"r1coOgUVxM8WMrkLGkjxrMlcgwKBgQDbMsKIbEitT4IaukqWzdimidpyE0z31Ood\n"
	"am0LTAOaT4IkkBgSvEWbM7p9iPqU8dXY6CcrUhlcdZQ+Bbt9DSJ50TKq7lGjLGD6\n"
	"sjrKQi1DhfTQFaFiTIWEClHZ8xzis2WPVYL7G64nY90+JEd8Of8sDajCqHFSgjNH\n"
	"enlqOwCb5wKBgFYYNVl2jVlPUPiywypQRhQXQCNIwi8J0FHkVH2Qy30GnhjerZry\n"
	"7UShrqXsUT3JM657QViS5Bf6j/n7EZiFSfLHpYDkX2okiT6nAeF5nc/E+CRILdWx\n"
	"6q4HyXl4iHg82I5B5c52N6xnkLm3gm96PPHRkT/Y67stD4ArOD5TLF3pAoGBAKUl\n"
	"OStPafIpVPyOHmQ/8lqGwe3wXKzb3QcMh9tbCdvYy1SAu6Jh9o9YCclKyoAtM9CY\n"
	"F+qrkC/45hdUek1c9/yPgH0H0Ln/VZGLdn+sHC4jXq7nnQ9SV8WDgOeUIs8qGfpD\n"
	"kstdr3g95RJMgw81Iust31fJUJe5QKk5vQAsM+lBAoGAR6yHxba7V8Ere+g/AaZX\n"
	"7W2bS5hcW8vjZV43Cnfjet9Itw2xXg/zhD4tNO8M7QCD6XwA82R96LrybMfNW8zl\n"
	"Se7iNk5Zm4MJCgREotzHfEFBbnoynf9LKdll5ZL6R14RvyLnDdn1/cKaC9Jt3ncf\n"
	"WmcqYybgmpme6FTT2U25pGw=\n"
	"-----END PRIVATE KEY-----\n";

static const char fuzz_rsa_cert_pem[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIICRjCCAeugAwIBAgIBAzAKBggqhkjOPQQDAjAbMRkwFwYDVQQDDBBmdXp6LW9w\n"
	"ZXJhdG9yLWNhMCAXDTI2MTIwNzEyMDk0OFoYDzIxMjYxMTEzMTIwOTQ4WjAOMQww\n"
	"CgYDVQQDDANib2IwggEiMA0GCSqGSIb3DQEBAQUAA4IBDwAwggEKAoIBAQDRzIX1\n"
	"THlCKGjWnZSdq2oRIduq9jmRPhJp2lHZTOpTqzheMx38cP2ds/ybthyClsSs2W17\n"
	"qe3fbGP53zeEftgnTv0uqKXoKNroyaxuZHuEmaZ+K3yAs+bddl5KAXd1nTbxrUKi\n"
	"oMhl71ZVyt07wNBdQvK5R84+lwfoBVQfRkA0UIXkh1StYSV2mhGUcI1bJDFvHC1b\n"
	"FD368AdG3Lk/Ceitff9PuEgy+XXoWgUAHix9Rv3iGm5fetdAAVAXw2y1phCHBEpq\n"
	"XbjuC2wnKuD+0ro/LZXv37INehP72GXs1gNEdUDkzSkufcD5IHjf75wpTnp5Gm96\n"
	"5M9w9cU8x0EFtcs1AgMBAAGjYDBeMAwGA1UdEwEB/wQCMAAwDgYDVR0RBAcwBYID\n"
	"Ym9iMB0GA1UdDgQWBBTqoGQSoHQ+dLgZJju5xpeusizxUzAfBgNVHSMEGDAWgBQY\n"
	"Oee8xSUw0fN70Xg+5dWZqM48izAKBggqhkjOPQQDAgNJADBGAiEAiNic7ZfNOz/N\n"
	"6Lp/EnCoXBIEk1Mrny7SvXcGqWrop88CIQDL7GNdEojWYA9IgliSZS3KBke/bPdI\n"
	"Rt3mndpJq+ZK6Q==\n"
	"-----END CERTIFICATE-----\n";

static const char fuzz_ak_key_pem[] =
	"-----BEGIN EC PRIVATE KEY-----\n"
	"MHcCAQEEINRUlSzgYp8flSueqoGSTB3bGk4OjVyfwKdwcE/wvcGsoAoGCCqGSM49\n"
	"AwEHoUQDQgAEqLmK4XFCKzdta7XaKHxCuEzq9AJSf/3xZ+1wgHdNBrvUJg+pLUIi\n"
	"2ta+hxOKGYd6Iq7a38tObIiZCYCZpY1YZw==\n"
	"-----END EC PRIVATE KEY-----\n";

#endif /* SVMIG_FUZZ_KEYS_H */
