package config

import "time"

// DefaultRedisURL is revocation.redis.url when neither it nor
// revocation.redis.addrs is set.
const DefaultRedisURL = "redis://127.0.0.1:6379/0"

// Default returns the configuration used for every key that neither the
// file nor the environment sets. It is not valid on its own: upstream.url,
// a JWT key source and an admin token have no defaults.
func Default() Config {
	return Config{
		Listen: ":8080",
		Upstream: Upstream{
			Timeout:             30 * time.Second,
			MaxIdleConnsPerHost: 256,
		},
		JWT: JWT{
			JWKSRefresh:            5 * time.Minute,
			JWKSUnknownKidCooldown: 30 * time.Second,
			Algorithms:             []string{"RS256"},
			Leeway:                 30 * time.Second,
			SubjectClaim:           "sub",
			SessionClaim:           "sid",
			VerifyCacheSize:        10000,
			Lookup:                 []string{"header:Authorization:Bearer"},
			ForwardHeaders:         map[string]string{"X-Revgate-Subject": "sub"},
		},
		Revocation: Revocation{
			Store: StoreRedis,
			Redis: Redis{
				URL:                DefaultRedisURL,
				KeyPrefix:          "revgate:",
				MinReplicasTimeout: 500 * time.Millisecond,
			},
			OnStoreError:     OnStoreErrorClosed,
			MaxTokenLifetime: 24 * time.Hour,
			LookupTimeout:    250 * time.Millisecond,
			RecheckInterval:  10 * time.Second,
		},
		Logout:            Logout{Path: "/auth/logout"},
		OAuth:             OAuth{RateLimit: 50, RateBurst: 100},
		BackchannelLogout: BackchannelLogout{MaxAge: 5 * time.Minute},
		SSF:               SSF{PollInterval: 5 * time.Second, EmailClaim: "email"},
		Admin:             Admin{Listen: "127.0.0.1:9090"},
		Log:               Log{Level: "info", Format: LogFormatJSON},
		Server: Server{
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       60 * time.Second,
			WriteTimeout:      0,
			IdleTimeout:       120 * time.Second,
			MaxHeaderBytes:    64 << 10,
			DrainDelay:        5 * time.Second,
			ShutdownTimeout:   25 * time.Second,
		},
	}
}
