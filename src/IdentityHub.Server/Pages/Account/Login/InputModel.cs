using System.ComponentModel.DataAnnotations;

namespace IdentityHub.Server.Pages.Account.Login;

public sealed class InputModel
{
    [Required(ErrorMessage = "Validation_Required")]
    [StringLength(100, ErrorMessage = "Validation_TooLong")]
    [Display(Name = "Login_SignInName")]
    public string SignInName { get; set; } = "";

    [Required(ErrorMessage = "Validation_Required")]
    [StringLength(256, ErrorMessage = "Validation_TooLong")]
    [DataType(DataType.Password)]
    [Display(Name = "Login_Password")]
    public string Password { get; set; } = "";
}
