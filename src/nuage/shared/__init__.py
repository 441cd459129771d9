"""Small, dependency-free value types shared by every package."""
