"""Storage backends of glint-backup repositories: local directory, Swift, S3."""
