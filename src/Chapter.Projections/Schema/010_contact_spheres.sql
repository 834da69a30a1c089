-- The chapter's contact spheres (professions that serve the same clients), as leaders set them last.
ALTER TABLE chapter_view ADD COLUMN contact_spheres jsonb NOT NULL DEFAULT '[]';
