from ansible_collections.launchbay.webstack.plugins.lookup import role_inputs


def test_the_role_code_digest_covers_its_files_and_names_and_outputs_are_found():
    code, names, outputs = role_inputs.role_code("postgres")
    assert len(code) == 64
    assert {"postgres_image", "postgres_databases", "postgres_superuser_password"} <= names
    assert "postgres_server_changed" in outputs and "_postgres_container" in outputs
    assert "postgres_server_changed" in role_inputs.collection_outputs()


def test_the_digest_of_a_value_ignores_the_run_s_omit_token_and_key_order():
    assert role_inputs.digest_of({"a": 1, "b": "__omit_place_holder__x"}, "__omit_place_holder__x") == \
        role_inputs.digest_of({"b": "__omit_place_holder__y", "a": 1}, "__omit_place_holder__y")
    assert role_inputs.digest_of("x") != role_inputs.digest_of("y")


def test_magic_and_run_variables_are_left_out():
    assert role_inputs.left_out("hostvars") and role_inputs.left_out("ansible_check_mode")
    assert role_inputs.left_out("run_release_id") and not role_inputs.left_out("postgres_image")
