//! `bys-campaign explain`: one contact's history.
